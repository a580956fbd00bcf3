// tests/base/test_sha256.cpp — base::Sha256, sha256_hex and sha256_file (base/sha256.h) against FIPS 180-4's
// known vectors and coreutils' sha256sum.
#include "base/sha256.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

namespace {

TEST(Sha256, KnownVectors) {
  using base::sha256_hex;
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 56 bytes
  EXPECT_EQ(sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million_a(1000000, 'a');
  EXPECT_EQ(sha256_hex(million_a.data(), million_a.size()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

class Sha256File : public TempDirTest {};

TEST_F(Sha256File, FileEqualsInMemoryHash) {
  std::vector<uint8_t> bytes(200001);  // several 64 KiB read blocks and a partial one
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 2654435761u >> 13);
  std::ofstream(path("blob.bin"), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  EXPECT_EQ(base::sha256_file(path("blob.bin")), base::sha256_hex(bytes.data(), bytes.size()));
  const std::string missing = path("missing.bin");
  EXPECT_NE(error_of([&] { base::sha256_file(missing); }).find(missing), std::string::npos);
}

// A path that is no regular file is an error naming it, not the digest of no bytes, and a FIFO is
// refused, not waited on for a writer (base::FileReader).
TEST_F(Sha256File, APathThatIsNoRegularFileIsAnErrorNotTheEmptyDigest) {
  fs::create_directories(path("folder"));
  expect_error_naming([&] { base::sha256_file(path("folder")); }, path("folder") + ": is a directory, expected a file");
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  expect_error_naming([&] { base::sha256_file(path("fifo")); }, path("fifo") + ": not a regular file");
}

// A file over max_bytes is refused naming its size and the bound before any of it is read (a sparse
// file of 8 GiB would otherwise take over half a minute to hash, one of 1 TiB over an hour).
TEST_F(Sha256File, AFileOverTheBoundIsRefusedUnread) {
  const std::string file = path("sparse.bin");
  std::ofstream(file).close();
  fs::resize_file(file, uintmax_t(1) << 33);  // sparse
  expect_error_naming([&] { base::sha256_file(file, 1000); }, file + ": 8589934592 bytes, expected at most 1000");
}

// The padding's length is the message's length in bits as 64 bits: 2^29 + 1 bytes are 2^32 + 8 bits,
// which a 32-bit count would wrap to 8 (the digest is coreutils' sha256sum's of as many zero bytes).
TEST_F(Sha256File, ALengthOfMoreThan2To32BitsIsCountedWhole) {
  const std::string file = path("zeros.bin");
  std::ofstream(file).close();
  fs::resize_file(file, (uintmax_t(1) << 29) + 1);  // sparse: no 512 MiB on the disk
  EXPECT_EQ(base::sha256_file(file), "7c40fe5ce847740d0f0d0cdde3949d6585804cdec3ae61a15b923165699c8137");
}

// Bytes given in parts are hashed as the whole (cuts inside a block, at its end and across several):
// what lets a reader fingerprint a file in the pass that reads it.
TEST(Sha256, PartsAreHashedAsTheWhole) {
  std::string text(1000, '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char(i * 131 + 7);
  const std::string whole = base::sha256_hex(text.data(), text.size());
  for (size_t cut : {0, 1, 55, 63, 64, 65, 200, 999, 1000}) {
    base::Sha256 h;
    h.update(text.data(), cut);
    h.update(text.data() + cut, text.size() - cut);
    EXPECT_EQ(h.digest(), whole) << "cut at " << cut;
  }
}

}  // namespace
