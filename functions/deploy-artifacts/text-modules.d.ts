/**
 * Files bundled as text: esbuild's text loader (`Loader: [".py=text"]` in template.yaml's
 * BuildProperties) turns `import script from "x.py"` into the file's contents as a string.
 */
declare module "*.py" {
  const text: string;
  export default text;
}
