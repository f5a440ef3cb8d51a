// The README's TypeScript examples, checked against the package's declarations as a user's
// strict project sees them: a renamed option, a changed signature or a removed export that the
// README still shows fails here, naming the README line. The self-contained examples also run.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const README = path.join(ROOT, 'README.md');
const DECLARATIONS = path.join(ROOT, 'dist', 'lib', 'index.d.ts');
const LIBRARY = path.join(ROOT, 'dist', 'lib', 'index.js');

interface Example {
  line: number; // README line of the code's first line
  code: string;
}

function examples(): Example[] {
  const lines = fs.readFileSync(README, 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    found.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

// What the fragments take from the examples before them (a model, a loaded set, a batch's
// arrays). An example that declares one of these itself shadows it.
const CONTEXT = `
import type * as sf from 'sphereface';
declare global {
  const model: sf.Model;
  const set: sf.LoadedImages;
  const images: Uint8Array;
  const labels: Int32Array;
  const n: number;
  const flip: Uint8Array;
  const DataLoader: typeof sf.DataLoader;
  const loadModel: typeof sf.loadModel;
  const ProcessGroup: typeof sf.ProcessGroup;
  const Trainer: typeof sf.Trainer;
}
export {};
`;

function typeErrors(all: Example[]): string[] {
  const dir = path.join(ROOT, 'readme-examples');
  const files = new Map<string, string>([[path.join(dir, 'context.d.ts'), CONTEXT]]);
  all.forEach((e) => files.set(path.join(dir, `line-${e.line}.ts`), `${e.code}\nexport {};\n`));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    paths: { sphereface: [DECLARATIONS] },
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => files.get(file) ?? readFile(file);
  host.fileExists = (file) => files.has(file) || ts.sys.fileExists(file);
  host.getSourceFile = (file, version, ...rest) => {
    const text = files.get(file);
    return text === undefined
      ? getSourceFile(file, version, ...rest)
      : ts.createSourceFile(file, text, version);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || !files.has(d.file.fileName)) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const start = Number(/line-(\d+)\.ts$/.exec(d.file.fileName)?.[1] ?? NaN);
    return `README.md:${start + line}: ${message}`;
  });
}

// An example as a CommonJS script: 'sphereface' is the built library, and its body (after
// the imports) runs inside an async function, for its top-level awaits.
function script(code: string): string {
  const imports = /^(import [^;]+;\n)+/.exec(`${code}\n`)?.[0] ?? '';
  const body = code.slice(imports.length);
  const source = `${imports}async function main() {\n${body}\n}\nvoid main();\n`;
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  return js.split(`require("sphereface")`).join(`require(${JSON.stringify(LIBRARY)})`);
}

/** Runs the example in a folder of its own, which `inspect` may look at before it is removed. */
async function run(example: Example, inspect?: (cwd: string) => void): Promise<string> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-readme-'));
  try {
    fs.writeFileSync(path.join(cwd, 'example.js'), script(example.code));
    const { stdout } = await promisify(execFile)(process.execPath, ['example.js'], { cwd });
    inspect?.(cwd);
    return stdout;
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

function exampleAt(all: Example[], first: string): Example {
  const found = all.find((e) => e.code.includes(first));
  if (!found) throw new Error(`no README example holds ${first}`);
  return found;
}

describe("the README's TypeScript examples", function () {
  this.timeout(300_000);
  const all = examples();

  it('are found', () => {
    expect(all.length).to.be.at.least(10);
  });

  it("type-check against the package's declarations in a strict project", () => {
    expect(typeErrors(all)).to.deep.equal([]);
  });

  it('the loss example prints what its comment says', async () => {
    const out = await run(exampleAt(all, 'marginSoftmaxLoss({'));
    const [loss, accuracy, gradFeatures, gradWeight] = out.trim().split(' ').map(Number);
    expect(loss).to.be.greaterThan(0);
    expect([accuracy, gradFeatures, gradWeight]).to.deep.equal([1, 8, 12]);
  });

  it('the evaluation example runs, writing its report', async () => {
    let report: string[] = [];
    const out = await run(exampleAt(all, 'rawPixelEmbedder(8, 8)'), (cwd) => {
      report = fs.readdirSync(path.join(cwd, 'runs', 'example'));
    });
    const [first] = out.split('\n');
    const [accuracy, std, threshold, auc, eer] = first.split(' ').map(Number);
    expect(accuracy).to.be.within(0, 1);
    expect([std, threshold, auc, eer].every(Number.isFinite)).to.equal(true);
    expect(report).to.include.members(['summary.json', 'report.md']);
  });
});
