#!/usr/bin/env node
// Compiles every native source (-fsyntax-only, no linking) against libtorch 2.x's headers: the
// addon must build with the libtorch 2.x users have, CUDA builds included, as well as with Debian
// bookworm's 1.13 it is tested on. Passes, as CMakeLists.txt would configure the build:
// - CPU: every source, with the oneDNN, Gloo and libjpeg defines where those headers are found,
//   as C++17 or C++20 as the headers need (scripts/torch-paths.js);
// - CUDA: the sources that see SPHEREFACE_WITH_CUDA or SPHEREFACE_WITH_NCCL, with both defined,
//   against a CUDA build's headers (c10/cuda), nccl.h and the CUDA toolkit's. The kernels (.cu)
//   are `npm run check:cuda`'s.
// The headers: LIBTORCH2_INCLUDE (a libtorch include/ folder, for both passes, with nccl.h from
// NCCL_INCLUDE and the toolkit from CUDA_HOME, default /usr/local/cuda), or else Debian's: trixie's
// libtorch-dev and (contrib) libtorch-cuda-dev 2.6 with the oneDNN 3, Gloo, fmt, NCCL and CUDA
// 12.4 headers they were built with, and sid's libtorch-dev (the newest) with its own, downloaded
// with apt-get into a cache folder (about 1 GB, under a minute here) and only their headers
// unpacked there (about 150 MB), nothing installed. Skips, saying so, without either.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { settings, hasJpeg, allSources } = require('./native-sources.js');
const { cxxStandard } = require('./torch-paths.js');

const root = path.resolve(__dirname, '..');
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

// Headers from one Debian suite, unpacked once into the cache folder: `trees` maps each package
// to the tree (folder) its usr/include goes to; resolves to each tree's include folder.
function debianHeaders(suite, components, trees) {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const home = path.join(cache, 'sphereface', `libtorch2-${suite}`);
  const includes = Object.fromEntries(
    Object.values(trees).map((tree) => [tree, path.join(home, tree, 'usr', 'include')]),
  );
  const packages = Object.keys(trees);
  const complete = path.join(home, 'complete');
  if (fs.existsSync(complete) && fs.readFileSync(complete, 'utf8') === packages.join('\n')) {
    return includes;
  }
  fs.rmSync(home, { recursive: true, force: true });
  for (const dir of ['lists/partial', 'cache/archives/partial', 'debs']) {
    fs.mkdirSync(path.join(home, dir), { recursive: true });
  }
  fs.writeFileSync(
    path.join(home, 'sources.list'),
    `deb [trusted=yes] http://deb.debian.org/debian ${suite} ${components}\n`,
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
  console.log(`check:libtorch2: downloading Debian ${suite}'s ${packages.join(', ')}`);
  run('apt-get', [...apt, '-qq', 'update'], `apt-get update (Debian ${suite})`);
  run('apt-get', [...apt, '-qq', 'download', ...packages], 'apt-get download', { cwd: debs });
  for (const [pkg, tree] of Object.entries(trees)) {
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
  }
  fs.writeFileSync(complete, packages.join('\n'));
  return includes;
}

// The header sets the check compiles against, from Debian: trixie's libtorch 2.6, CPU and CUDA
// builds, with what they were built with; and the newest CPU libtorch (sid's), with its oneDNN,
// Gloo and fmt.
function debianHeaderSets() {
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const trixie = debianHeaders('trixie', 'main contrib non-free', {
    'libtorch-dev': 'cpu',
    'libtorch-cuda-dev': 'cuda',
    'libnccl-dev': 'nccl',
    'nvidia-cuda-dev': 'toolkit',
    'libcu++-dev': 'toolkit', // the toolkit headers' <nv/target>
    'libdnnl-dev': 'shared',
    'libgloo-dev': 'shared',
    'libfmt-dev': 'shared',
  });
  const sid = debianHeaders('sid', 'main', {
    'libtorch-dev': 'cpu',
    'libdnnl-dev': 'cpu',
    'libgloo-dev': 'cpu',
    'libfmt-dev': 'cpu',
  });
  return {
    cpu: [
      { torchInclude: trixie.cpu, dirs: [trixie.cpu, trixie.shared] },
      { torchInclude: sid.cpu, dirs: [sid.cpu] },
    ],
    cuda: {
      torchInclude: trixie.cuda,
      dirs: [trixie.cuda, trixie.shared, trixie.nccl, trixie.toolkit],
    },
  };
}

// The header sets from LIBTORCH2_INCLUDE (NCCL_INCLUDE, CUDA_HOME).
function givenHeaderSets(include) {
  const toolkit = path.join(process.env.CUDA_HOME || '/usr/local/cuda', 'include');
  const nccl = process.env.NCCL_INCLUDE;
  return {
    cpu: [{ torchInclude: include, dirs: [include] }],
    cuda: { torchInclude: include, dirs: [include, ...(nccl ? [nccl] : []), toolkit] },
  };
}

function torchVersion(include) {
  // torch/headeronly/ from libtorch 2.10 on.
  const header = ['torch/headeronly/version.h', 'torch/csrc/api/include/torch/version.h']
    .map((file) => path.join(include, file))
    .find((file) => fs.existsSync(file));
  if (!header) fail(`no torch/**/version.h in ${include}: is it libtorch's include folder?`);
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

// What a pass's headers offer, read once per pass: CMakeLists.txt's switches follow from it.
function passFeatures({ torchInclude, dirs }) {
  return {
    std: cxxStandard(torchInclude).replace('c++', 'gnu++'),
    // The oneDNN convs need oneDNN 2.x (trixie's libtorch 2.x links 3.x, so they are left out).
    dnnl: dnnlMajor(dirs) === '2',
    gloo: holds(dirs, 'gloo/config.h'),
  };
}

// The defines CMakeLists.txt gives `source` in a pass with these features.
function definesFor(source, features, cuda) {
  const defines = [...settings.defines, 'BUILDING_NODE_EXTENSION', 'SPHEREFACE_TORCH_SOURCE="2.x"'];
  if (features.dnnl) defines.push('SPHEREFACE_WITH_DNNL=1');
  if (cuda) defines.push('SPHEREFACE_WITH_CUDA=1');
  if (features.gloo && source.startsWith(path.join('native', 'dist', path.sep))) {
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
function compile(source, { torchInclude, dirs, cuda, scratch, features }) {
  const depfile = path.join(scratch, `${cuda ? 'cuda' : 'cpu'}-${source.replace(/[/\\]/g, '_')}.d`);
  const args = [
    `-std=${features.std}`,
    '-fsyntax-only',
    '-D_GLIBCXX_USE_CXX11_ABI=1',
    ...settings.cxxflags,
    ...definesFor(source, features, cuda),
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

async function compileAll(sources, pass) {
  const options = { ...pass, features: passFeatures(pass) };
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
  const sets = given ? givenHeaderSets(given) : debianHeaderSets();
  if (!sets) {
    console.log('check:libtorch2: no LIBTORCH2_INCLUDE and no apt-get to fetch headers: skipped');
    return;
  }
  for (const { torchInclude } of [...sets.cpu, sets.cuda]) {
    const version = torchVersion(torchInclude);
    if (!/^[2-9]\./.test(version)) fail(`${torchInclude} holds libtorch ${version}, not 2.x`);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-libtorch2-'));
  let failed = 0;
  let cpuResults;
  for (const set of sets.cpu) {
    const cpu = await compileAll(allSources(), { ...set, cuda: false, scratch });
    failed += cpu.failed;
    cpuResults ??= cpu.results;
  }
  const { torchInclude, dirs } = sets.cuda;
  if (!holds([torchInclude], 'c10/cuda/CUDAStream.h')) {
    console.log(`check:libtorch2: CUDA pass skipped: ${torchInclude} is a CPU build's`);
  } else if (!holds(dirs, 'cusparse.h')) {
    console.log('check:libtorch2: CUDA pass skipped: no CUDA toolkit headers (set CUDA_HOME)');
  } else if (!holds(dirs, 'nccl.h')) {
    console.log('check:libtorch2: CUDA pass skipped: no nccl.h (set NCCL_INCLUDE)');
  } else {
    const cuda = await compileAll(cudaSensitive(cpuResults), { ...sets.cuda, cuda: true, scratch });
    failed += cuda.failed;
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch((error) => fail(error.stack));
