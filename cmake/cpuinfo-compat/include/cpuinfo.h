// cpuinfo.h (compat shim, ours): XNNPACK 2024-11 names cpuinfo symbols that Debian bookworm's
// libcpuinfo-dev (2022-06) lacks. XNNPACK gets this directory as CPUINFO_SOURCE_DIR/include; we
// forward to the system header and add the missing names. Feature queries the old library cannot
// answer report "absent", so XNNPACK simply skips those kernel families (AVX-VNNI, AVX512-FP16,
// AMX, SME...); uarch values only steer per-core tuning and get numbers unused by the old enum.
#ifndef FOLIA_CPUINFO_COMPAT_H
#define FOLIA_CPUINFO_COMPAT_H

#include_next <cpuinfo.h>

#define cpuinfo_uarch_zen4 ((enum cpuinfo_uarch)0x0020010C)
#define cpuinfo_uarch_cortex_a510 ((enum cpuinfo_uarch)0x00300379)
#define cpuinfo_uarch_cortex_a710 ((enum cpuinfo_uarch)0x0030037A)
#define cpuinfo_uarch_cortex_a715 ((enum cpuinfo_uarch)0x0030037B)
#define cpuinfo_uarch_cortex_x2 ((enum cpuinfo_uarch)0x00300501)
#define cpuinfo_uarch_cortex_x3 ((enum cpuinfo_uarch)0x00300502)
#define cpuinfo_uarch_neoverse_v2 ((enum cpuinfo_uarch)0x00300404)

static inline bool cpuinfo_has_x86_avxvnni(void) {
    return false;
}
static inline bool cpuinfo_has_x86_avx_vnni_int8(void) {
    return false;
}
static inline bool cpuinfo_has_x86_avx512fp16(void) {
    return false;
}
static inline bool cpuinfo_has_x86_amx_int8(void) {
    return false;
}
static inline bool cpuinfo_has_x86_avx10(void) {
    return false;
}
static inline bool cpuinfo_has_arm_i8mm(void) {
    return false;
}
static inline bool cpuinfo_has_arm_neon_bf16(void) {
    return false;
}
static inline bool cpuinfo_has_arm_sme(void) {
    return false;
}
static inline bool cpuinfo_has_arm_sme2(void) {
    return false;
}

#endif  // FOLIA_CPUINFO_COMPAT_H
