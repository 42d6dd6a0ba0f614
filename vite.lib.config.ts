// Vite for the library: `npm run build` bundles src/index.ts (WGSL inlined through `?raw`) into dist/shadergrad.js, the CLI into dist/cli.js, declarations into dist/types.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { defineConfig, type Plugin } from 'vite';
import { assetFiles } from './vite.assets.ts';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/** `./x` → `./x.js`, `./dir` → `./dir/index.js`: Node's ESM resolution (TypeScript's `nodenext`) needs full paths. */
function withExtension(specifier: string, fromDir: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const target = resolve(fromDir, specifier);
  if (existsSync(`${target}.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.ts'))) return `${specifier}/index.js`;
  return specifier;
}

/** Rewrites the relative module specifiers of a declaration file (imports, re-exports, `import("…")` types). */
const addExtensions: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => (file) => {
  if (!ts.isSourceFile(file)) return file;
  const { factory } = context;
  const fromDir = dirname(file.fileName);
  const literal = (node: ts.StringLiteral) => factory.createStringLiteral(withExtension(node.text, fromDir), true);
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      return factory.updateImportDeclaration(node, node.modifiers, node.importClause, literal(node.moduleSpecifier), node.attributes);
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      return factory.updateExportDeclaration(
        node, node.modifiers, node.isTypeOnly, node.exportClause, literal(node.moduleSpecifier), node.attributes,
      );
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const argument = factory.createLiteralTypeNode(literal(node.argument.literal));
      return factory.updateImportTypeNode(node, argument, node.attributes, node.qualifier, node.typeArguments, node.isTypeOf);
    }
    return ts.visitEachChild(node, visit, context);
  };
  return ts.visitEachChild(file, visit, context);
};

/** Type-checks src with tsconfig.build.json and emits its declarations, failing the build on any error. */
function declarations(): Plugin {
  return {
    name: 'shadergrad-declarations',
    apply: 'build',
    closeBundle() {
      const host: ts.FormatDiagnosticsHost = {
        getCanonicalFileName: (name) => name,
        getCurrentDirectory: () => ROOT,
        getNewLine: () => '\n',
      };
      const fail = (diagnostics: readonly ts.Diagnostic[]) => {
        throw new Error(`declarations: TypeScript errors\n${ts.formatDiagnostics(diagnostics, host)}`);
      };
      const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
      })!;
      if (config.errors.length) fail(config.errors);
      const program = ts.createProgram(config.fileNames, config.options);
      const emitted = program.emit(undefined, undefined, undefined, true, { afterDeclarations: [addExtensions] });
      const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
      if (diagnostics.length) fail(diagnostics);
    },
  };
}

/** Empties the output folder (dist/) but for page/: the page's own build, which a library build alone must not delete. */
function emptyLibraryOutput(): Plugin {
  let outDir = '';
  return {
    name: 'shadergrad-empty-library-output',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    buildStart() {
      if (!existsSync(outDir)) return;
      for (const entry of readdirSync(outDir)) if (entry !== 'page') rmSync(join(outDir, entry), { recursive: true, force: true });
    },
  };
}

export default defineConfig({
  root: ROOT,
  publicDir: false,
  plugins: [emptyLibraryOutput(), assetFiles(), declarations()],
  build: {
    // The CLI is a second entry: it imports the library's chunk, the public API only.
    lib: { entry: { shadergrad: 'src/index.ts', cli: 'src/cli/main.ts' }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    // The page goes in dist/page (vite.config.ts): emptyLibraryOutput empties the rest.
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    rolldownOptions: {
      // Dawn's binding and Node's built-ins are loaded at run time, in Node only (the `import('webgpu')` stays dynamic).
      external: ['webgpu', /^node:/],
    },
  },
});
