// BN254 Fr NTT on the GPU: sppark's NTT with halo2's roots of unity (bn254_ntt_roots.h, generated from
// halo2curves), natural order in and out, values in Montgomery form (halo2curves' raw layout).
#include <cuda.h>

// not FEATURE_BN254: that would bring sppark's own roots, from another primitive root of unity
#include <ff/alt_bn128.hpp>
using namespace alt_bn128;
#include "bn254_ntt_roots.h"
#include <ntt/ntt.cuh>

extern "C" RustError::by_value zkonnx_ntt_bn254(fr_t *inout, uint32_t lg_n, bool inverse)
{
    try {
        const gpu_t& gpu = select_gpu();
        return NTT::Base(gpu, inout, lg_n, NTT::InputOutputOrder::NN,
                         inverse ? NTT::Direction::inverse : NTT::Direction::forward,
                         NTT::Type::standard);
    } catch (const cuda_error& e) {
        return RustError{e.code(), e.what()};
    }
}
