// tests/sanitizer.h — NNFMRI_UNDER_ASAN is 1 when this file is compiled with AddressSanitizer (GCC
// defines __SANITIZE_ADDRESS__, clang answers __has_feature(address_sanitizer)), for the few tests
// that cannot run under it (make asan): malloc is not glibc's, the address space is not the process's.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define NNFMRI_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNFMRI_UNDER_ASAN 1
#endif
#endif
#ifndef NNFMRI_UNDER_ASAN
#define NNFMRI_UNDER_ASAN 0
#endif
