// bench/study/study_inputs.h — what a study program opens first: its thread counts ($THREADS, else
// default_threads), the checkpoint and the data set named on its command line.
#pragma once

#include <omp.h>

#include <cblas.h>

#include <cstdlib>

#include "datasets/dataset.h"
#include "nn/checkpoint.h"

struct StudyInputs {
  nn::Checkpoint ck;
  datasets::DataSplit data;
};

// OpenMP runs $THREADS threads (default_threads when unset); OpenBLAS runs one thread when
// single_threaded_blas (the study parallelises over images itself), else as many as OpenMP.
inline StudyInputs open_study(const char* checkpoint, const char* data, int default_threads, bool single_threaded_blas) {
  const int threads = std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : default_threads;
  omp_set_num_threads(threads);
  openblas_set_num_threads(single_threaded_blas ? 1 : threads);
  return {nn::load_checkpoint(checkpoint), datasets::load_dataset(data)};
}
