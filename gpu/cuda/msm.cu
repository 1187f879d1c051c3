// BN254 G1 multi-scalar multiplication on the GPU: sppark's Pippenger behind one C entry point.
// Points come as affine (x, y) in Montgomery form (halo2curves' raw layout; the identity is (0, 0)),
// scalars as canonical little-endian limbs; the sum comes back affine, Montgomery form.
#include <cuda.h>
#include <cstring>

#define FEATURE_BN254
#include <ff/alt_bn128.hpp>
#include <ec/jacobian_t.hpp>
#include <ec/xyzz_t.hpp>

typedef jacobian_t<fp_t> point_t;
typedef xyzz_t<fp_t> bucket_t;
typedef bucket_t::affine_t affine_t;
typedef fr_t scalar_t;

#include <msm/pippenger.cuh>

extern "C" RustError::by_value zkonnx_msm_bn254(affine_t *out, const affine_t points[], size_t npoints,
                                                const scalar_t scalars[])
{
    point_t sum;
    sum.inf();
    RustError status = mult_pippenger<bucket_t>(&sum, points, npoints, scalars, /*mont=*/false);
    if (sum.is_inf())
        std::memset(static_cast<void *>(out), 0, sizeof(*out)); // halo2curves' identity
    else
        *out = (affine_t)sum;
    return status;
}
