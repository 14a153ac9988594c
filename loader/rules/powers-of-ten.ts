/**
 * 10^0 to 10^22, the powers of ten a double holds exactly, written out: a table lookup, where `10 ** k` is a call
 * into Math.pow on every price (a tenth of the byte path's validation time) with no promise of an exact result.
 */
export const POW10: readonly number[] = [
  1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];
