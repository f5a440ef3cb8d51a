#!/usr/bin/env node
// Compiles every native source (-fsyntax-only, no linking) against libtorch 2.x's headers: the
// addon must build with the libtorch 2.x users have, CUDA builds included, as well as with Debian
// bookworm's 1.13 it is tested on. Two passes, as CMakeLists.txt would configure them:
// - CPU: every source, with the oneDNN, Gloo and libjpeg defines where those headers are found;
// - CUDA: the sources that see SPHEREFACE_WITH_CUDA or SPHEREFACE_WITH_NCCL, with both defined,
//   against a CUDA build's headers (c10/cuda), nccl.h and the CUDA toolkit's. The kernels (.cu)
//   are `npm run check:cuda`'s.
// The headers: LIBTORCH2_INCLUDE (a libtorch include/ folder, used for both passes, with nccl.h
// from NCCL_INCLUDE and the toolkit from CUDA_HOME, default /usr/local/cuda), or else Debian
// trixie's packages: libtorch-dev and, from contrib, libtorch-cuda-dev 2.x, with the oneDNN 3,
// Gloo, fmt, NCCL and CUDA toolkit headers they were built with, downloaded with apt-get into a
// cache folder (about 1 GB, 30-40 s here) and only their headers unpacked there (about 100 MB),
// nothing installed. Skips, saying so, without either.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { settings, hasJpeg, allSources } = require('./native-sources.js');

const root = path.resolve(__dirname, '..');
const SHARED_PACKAGES = ['libdnnl-dev', 'libgloo-dev', 'libfmt-dev'];
const CUDA_MACROS = /\bSPHEREFACE_WITH_(CUDA|NCCL)\b/;

function fail(message) {
  console.error(`check:libtorch2: ${message}`);
  process.exit(1);
}

function run(command, args, what, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) fail(`${what} failed:\n${result.stderr || result.stdout}`);
  return result.stdout;
}

// Debian trixie's headers, unpacked once into the cache folder: the include folders of the CPU
// and CUDA libtorch, NCCL, the CUDA toolkit and the rest (oneDNN, Gloo, fmt).
function trixieHeaders() {
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const home = path.join(cache, 'sphereface', 'libtorch2-trixie');
  const includeOf = (tree) => path.join(home, tree, 'usr', 'include');
  const headers = {
    cpu: includeOf('cpu'),
    cuda: includeOf('cuda'),
    nccl: includeOf('nccl'),
    toolkit: includeOf('toolkit'),
    shared: includeOf('shared'),
  };
  if (fs.existsSync(path.join(home, 'complete'))) return headers;
  fs.rmSync(home, { recursive: true, force: true });
  for (const dir of ['lists/partial', 'cache/archives/partial', 'debs']) {
    fs.mkdirSync(path.join(home, dir), { recursive: true });
  }
  fs.writeFileSync(
    path.join(home, 'sources.list'),
    'deb [trusted=yes] http://deb.debian.org/debian trixie main contrib non-free\n',
  );
  fs.writeFileSync(path.join(home, 'status'), '');
  const apt = [
    ['Dir::Etc::SourceList', path.join(home, 'sources.list')],
    ['Dir::Etc::SourceParts', '/dev/null'],
    ['Dir::State::Lists', path.join(home, 'lists')],
    ['Dir::State::status', path.join(home, 'status')],
    ['Dir::Cache', path.join(home, 'cache')],
    ['APT::Sandbox::User', os.userInfo().username],
    ['Debug::NoLocking', 'true'],
  ].flatMap(([key, value]) => ['-o', `${key}=${value}`]);
  const debs = path.join(home, 'debs');
  const packages = [
    'libtorch-dev',
    'libtorch-cuda-dev',
    'libnccl-dev',
    'nvidia-cuda-dev',
    'libcu++-dev',
    ...SHARED_PACKAGES,
  ];
  console.log(`check:libtorch2: downloading Debian trixie's ${packages.join(', ')}`);
  run('apt-get', [...apt, '-qq', 'update'], 'apt-get update (Debian trixie)');
  run('apt-get', [...apt, '-qq', 'download', ...packages], 'apt-get download', { cwd: debs });
  const unpack = (pkg, tree) => {
    const deb = fs.readdirSync(debs).find((file) => file.startsWith(`${pkg}_`));
    if (!deb) fail(`apt-get download left no ${pkg} in ${debs}`);
    // Only the headers: the CUDA and NCCL packages are mostly libraries.
    fs.mkdirSync(path.join(home, tree), { recursive: true });
    const script = 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./usr/include';
    run(
      'bash',
      ['-o', 'pipefail', '-c', script, 'unpack', path.join(debs, deb), path.join(home, tree)],
      `unpacking ${deb}`,
    );
    fs.rmSync(path.join(debs, deb));
  };
  unpack('libtorch-dev', 'cpu');
  unpack('libtorch-cuda-dev', 'cuda');
  unpack('libnccl-dev', 'nccl');
  unpack('nvidia-cuda-dev', 'toolkit');
  unpack('libcu++-dev', 'toolkit'); // the toolkit headers' <nv/target>
  for (const pkg of SHARED_PACKAGES) unpack(pkg, 'shared');
  fs.writeFileSync(path.join(home, 'complete'), packages.join('\n') + '\n');
  return headers;
}

function torchVersion(include) {
  const header = path.join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!fs.existsSync(header)) fail(`${header} not found: is ${include} libtorch's include folder?`);
  const text = fs.readFileSync(header, 'utf8');
  return (text.match(/#define TORCH_VERSION\s*\\?\s*"([^"]+)"/) ?? [])[1] ?? 'unknown';
}

// Whether one of `dirs` holds `file`.
const holds = (dirs, file) => dirs.some((dir) => fs.existsSync(path.join(dir, file)));

// oneDNN's major version in the first of `dirs` with its headers ('' without).
function dnnlMajor(dirs) {
  const dir = dirs.find((d) => fs.existsSync(path.join(d, 'oneapi/dnnl/dnnl_version.h')));
  if (!dir) return '';
  const text = fs.readFileSync(path.join(dir, 'oneapi/dnnl/dnnl_version.h'), 'utf8');
  return (text.match(/#define DNNL_VERSION_MAJOR (\d+)/) ?? [])[1] ?? '';
}

// The defines CMakeLists.txt gives `source` where these headers are found.
function definesFor(source, dirs, cuda) {
  const defines = [...settings.defines, 'BUILDING_NODE_EXTENSION', 'SPHEREFACE_TORCH_SOURCE="2.x"'];
  // The oneDNN convs need oneDNN 2.x (trixie's libtorch 2.x links 3.x, so they are left out).
  if (dnnlMajor(dirs) === '2') defines.push('SPHEREFACE_WITH_DNNL=1');
  if (cuda) defines.push('SPHEREFACE_WITH_CUDA=1');
  if (source.startsWith(path.join('native', 'dist', path.sep)) && holds(dirs, 'gloo/config.h')) {
    defines.push('SPHEREFACE_WITH_GLOO=1', 'USE_C10D_GLOO=1', 'USE_DISTRIBUTED=1');
    if (cuda) defines.push('SPHEREFACE_WITH_NCCL=1', 'USE_C10D_NCCL=1');
  }
  if (hasJpeg && source === path.join('native', 'data', 'jpeg_decoder.cc')) {
    defines.push('SPHEREFACE_WITH_JPEG=1');
  }
  return defines.map((define) => `-D${define}`);
}

// Headers of another libtorch (the system's 1.13) reached through the default search path.
function foreignTorchHeaders(deps, torchInclude) {
  return deps.filter(
    (dep) => /\/(ATen|c10|torch|caffe2)\//.test(dep) && !dep.startsWith(torchInclude + path.sep),
  );
}

// Compiles `source`; resolves to { source, ok, errors, deps } (deps: the files it included).
function compile(source, { torchInclude, dirs, cuda, scratch }) {
  const depfile = path.join(scratch, `${cuda ? 'cuda' : 'cpu'}-${source.replace(/[/\\]/g, '_')}.d`);
  const args = [
    '-std=gnu++17',
    '-fsyntax-only',
    '-D_GLIBCXX_USE_CXX11_ABI=1',
    ...settings.cxxflags,
    ...definesFor(source, dirs, cuda),
    `-I${path.join(root, 'node_modules', 'node-api-headers', 'include')}`,
    `-I${path.join(root, 'node_modules', 'node-addon-api')}`,
    `-I${path.join(root, 'native')}`,
    ...[path.join(torchInclude, 'torch', 'csrc', 'api', 'include'), ...dirs].flatMap((dir) => [
      '-isystem',
      dir,
    ]),
    '-MD',
    '-MF',
    depfile,
    source,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.env.CXX || 'g++', args, { cwd: root });
    let errors = '';
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.on('close', (status) => {
      const deps =
        status === 0
          ? fs.readFileSync(depfile, 'utf8').replace(/\\\n/g, ' ').split(/\s+/).slice(1)
          : [];
      const foreign = foreignTorchHeaders(deps, torchInclude);
      if (foreign.length > 0) errors += `includes another libtorch's ${foreign.join(' ')}\n`;
      resolve({ source, ok: status === 0 && foreign.length === 0, errors, deps });
    });
  });
}

async function compileAll(sources, options) {
  const queue = [...sources];
  const results = [];
  const worker = async () => {
    for (let source = queue.shift(); source; source = queue.shift()) {
      results.push(await compile(source, options));
    }
  };
  await Promise.all(Array.from({ length: os.availableParallelism() }, worker));
  const failed = results.filter((result) => !result.ok);
  for (const { source, errors } of failed) console.error(`${source}:\n${errors}`);
  const version = torchVersion(options.torchInclude);
  console.log(
    `check:libtorch2: ${options.cuda ? 'CUDA' : 'CPU'} pass: ${sources.length - failed.length} ` +
      `of ${sources.length} sources compile against libtorch ${version} (${options.torchInclude})` +
      (options.cuda ? `: ${sources.join(', ')}` : ''),
  );
  return { results, failed: failed.length };
}

// The sources whose own text or native headers name the CUDA or NCCL switches.
function cudaSensitive(results) {
  const mentions = new Map();
  const sees = (file) => {
    if (!mentions.has(file)) mentions.set(file, CUDA_MACROS.test(fs.readFileSync(file, 'utf8')));
    return mentions.get(file);
  };
  const nativeDir = path.join(root, 'native') + path.sep;
  return results
    .filter(({ source, deps }) =>
      [path.join(root, source), ...deps.map((dep) => path.resolve(root, dep))]
        .filter((file) => file.startsWith(nativeDir))
        .some(sees),
    )
    .map(({ source }) => source);
}

async function main() {
  const given = process.env.LIBTORCH2_INCLUDE;
  const trixie = given ? null : trixieHeaders();
  if (!given && !trixie) {
    console.log('check:libtorch2: no LIBTORCH2_INCLUDE and no apt-get to fetch headers: skipped');
    return;
  }
  const cpuInclude = given ?? trixie.cpu;
  const cudaInclude = given ?? trixie.cuda;
  const shared = trixie ? [trixie.shared] : [];
  for (const include of new Set([cpuInclude, cudaInclude])) {
    const version = torchVersion(include);
    if (!/^[2-9]\./.test(version)) fail(`${include} holds libtorch ${version}, not 2.x`);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-libtorch2-'));
  const cpu = await compileAll(allSources(), {
    torchInclude: cpuInclude,
    dirs: [cpuInclude, ...shared],
    cuda: false,
    scratch,
  });
  let failed = cpu.failed;
  const toolkit = given
    ? path.join(process.env.CUDA_HOME || '/usr/local/cuda', 'include')
    : trixie.toolkit;
  const nccl = given ? process.env.NCCL_INCLUDE : trixie.nccl;
  if (!holds([cudaInclude], 'c10/cuda/CUDAStream.h')) {
    console.log(`check:libtorch2: CUDA pass skipped: ${cudaInclude} is a CPU build's`);
  } else if (!holds([toolkit], 'cusparse.h')) {
    console.log(`check:libtorch2: CUDA pass skipped: no CUDA toolkit headers in ${toolkit}`);
  } else if (!nccl || !holds([nccl], 'nccl.h')) {
    console.log('check:libtorch2: CUDA pass skipped: no nccl.h (set NCCL_INCLUDE)');
  } else {
    const sources = cudaSensitive(cpu.results);
    const cuda = await compileAll(sources, {
      torchInclude: cudaInclude,
      dirs: [cudaInclude, ...shared, nccl, toolkit],
      cuda: true,
      scratch,
    });
    failed += cuda.failed;
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch((error) => fail(error.stack));
