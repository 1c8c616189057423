/** The part of jstat (no published typings) that lth uses: Student's t quantiles and CDF. */
declare module 'jstat' {
  interface StudentT {
    /** quantile: x with P(T ≤ x) = p for dof degrees of freedom */
    inv(p: number, dof: number): number;
    cdf(x: number, dof: number): number;
  }
  const jstat: { jStat: { studentt: StudentT } };
  export default jstat;
}
