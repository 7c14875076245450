// cl/index.cl — index helpers shared by programs through "//! requires: index".

// (plane, a, b, c) of flat index i over (planes, A, B, C) extents; 32-bit division when the
// index fits (64-bit division is slow on GPUs)
inline ulong decode4(ulong i, int A, int B, int C, int *a, int *b, int *c) {
    if (i <= 0xffffffffUL) {
        uint u = (uint)i;
        *c = (int)(u % (uint)C);
        u /= (uint)C;
        *b = (int)(u % (uint)B);
        u /= (uint)B;
        *a = (int)(u % (uint)A);
        return (ulong)(u / (uint)A);
    }
    *c = (int)(i % (ulong)C);
    ulong t = i / (ulong)C;
    *b = (int)(t % (ulong)B);
    t /= (ulong)B;
    *a = (int)(t % (ulong)A);
    return t / (ulong)A;
}

// Division and remainder in 32 bits when both operands fit (64-bit division is emulated and
// several times slower on GPUs); the result is the same either way.
inline ulong qdiv(ulong a, ulong b) { return ((a | b) >> 32) == 0 ? (ulong)((uint)a / (uint)b) : a / b; }
inline ulong qmod(ulong a, ulong b) { return ((a | b) >> 32) == 0 ? (ulong)((uint)a % (uint)b) : a % b; }
