// SPHEREFACE_REQUIRE_DNNL=1 (set by .ci/run where the CPU has AVX-512 and the build has the
// oneDNN kernels): the oneDNN conv tests must run those paths, not only agree with info(), so a
// build or a probe that silently falls back to at::conv2d fails instead of passing.
export const dnnlRequired = process.env.SPHEREFACE_REQUIRE_DNNL === '1';
