/** A `.lua` file imported as its text (webpack `asset/source`, tools/jest-lua-transform.cjs in Jest). */
declare module '*.lua' {
  const source: string;
  export default source;
}
