#!/bin/sh
# CMake flags for compiling llama-cpp-python's bundled llama.cpp on this machine.
#
# On x86-64, build for the vector extensions this CPU reports, but not with GGML_NATIVE: a native build
# on a CPU with AMX compiles ggml's AMX kernels, and those crash (SIGSEGV in ggml_backend_amx_mul_mat on
# the first llama_decode of a Q4_1 model, seen on a Sapphire Rapids VM). Elsewhere (ARM) native is right.
[ "$(uname -m)" = "x86_64" ] || exit 0
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { case " $flags " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
args="-DGGML_NATIVE=OFF"
for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
            avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    if has "${pair%%:*}"; then args="$args -DGGML_${pair#*:}=ON"; fi
done
echo "$args"
