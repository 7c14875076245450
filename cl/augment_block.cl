// cl/augment_block.cl — layout of the per-(transform, sample) parameter blocks the host draws
// (src/augment/augment_internal.h: AUG_PB, AUG_P_APPLIED, AUG_P_CH, AUG_P_X), shared by the
// augmentation programs through "//! requires: augment_block".
#define PB 128
#define P_APPLIED 0
#define P_CH 8
#define P_X 72
