/**
 * A float64 reference of the NHWC convolution for the native kernel tests: the geometry of one
 * convolution (x [n, h, w, ci], HWIO filter [kh, kw, ci, co], stride s, TensorFlow's 'same' or
 * 'valid' padding) and every multiply-add it makes.
 */
export interface ConvGeo {
  n: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  s: number;
  pad: 'same' | 'valid';
}
/** Output size and top/left padding, as TensorFlow defines 'same' and 'valid'. */
export function outGeo(g: ConvGeo) {
  const oh = g.pad === 'same' ? Math.ceil(g.h / g.s) : Math.ceil((g.h - g.kh + 1) / g.s);
  const ow = g.pad === 'same' ? Math.ceil(g.w / g.s) : Math.ceil((g.w - g.kw + 1) / g.s);
  const pt = g.pad === 'same' ? Math.floor(Math.max((oh - 1) * g.s + g.kh - g.h, 0) / 2) : 0;
  const pl = g.pad === 'same' ? Math.floor(Math.max((ow - 1) * g.s + g.kw - g.w, 0) / 2) : 0;
  return { oh, ow, pt, pl };
}
/** Calls f(xIndex, fIndex, outIndex) for every multiply-add of the NHWC convolution. */
export function convTaps(g: ConvGeo, f: (xi: number, fi: number, oi: number) => void): void {
  const { oh, ow, pt, pl } = outGeo(g);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.s + ky - pt;
            const ix = ox * g.s + kx - pl;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            for (let c = 0; c < g.ci; c++)
              for (let o = 0; o < g.co; o++)
                f(((b * g.h + iy) * g.w + ix) * g.ci + c, ((ky * g.kw + kx) * g.ci + c) * g.co + o, ((b * oh + oy) * ow + ox) * g.co + o);
          }
}
