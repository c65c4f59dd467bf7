# The optimized kernel sources every bench/test image links (one definition per entry point is
# compiled, chosen by the target's __ARM_FEATURE_MVE / __ARM_FEATURE_DSP).
eq_kernel_sources() {
  local k="$1/../src/kernels"
  echo "$k/gemm_s8_dsp.c $k/gemm_s8_mve.c $k/conv2d_s8_opt.c $k/fully_connected_s8_opt.c $k/depthwise_conv2d_s8_dsp.c $k/depthwise_conv2d_s8_mve.c"
}
