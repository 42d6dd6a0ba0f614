// Pipeline cache: one compute pipeline per shader source, entry point and override constants.

import type { BindingKind, Kernel } from '../kernels/kernel';

/** GPUShaderStage.COMPUTE, numeric so Node needs no globals. */
const COMPUTE_STAGE = 0x4;

export class PipelineCache {
  /** source → (entry point + constants) → pipeline; the source string is a kernel's own, so its hash is cached. */
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  private readonly layouts = new Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Fast path: kernels are long-lived objects, so the lookup by source runs once per kernel. */
  private readonly byKernel = new WeakMap<Kernel, GPUComputePipeline>();
  private count = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.count;
  }

  get(kernel: Kernel): GPUComputePipeline {
    const known = this.byKernel.get(kernel);
    if (known) return known;
    let byVariant = this.pipelines.get(kernel.code);
    if (!byVariant) {
      byVariant = new Map();
      this.pipelines.set(kernel.code, byVariant);
    }
    const key = variantKey(kernel);
    let pipeline = byVariant.get(key);
    if (!pipeline) {
      pipeline = this.create(kernel);
      byVariant.set(key, pipeline);
      this.count++;
    }
    this.byKernel.set(kernel, pipeline);
    return pipeline;
  }

  bindGroupLayout(kernel: Kernel): GPUBindGroupLayout {
    return this.layoutFor(kernel.bindings, kernel.uniforms.length > 0).group;
  }

  private create(kernel: Kernel): GPUComputePipeline {
    let module = this.modules.get(kernel.code);
    if (!module) {
      module = this.device.createShaderModule({ code: kernel.code, label: `shadergrad:${kernel.name}` });
      this.modules.set(kernel.code, module);
    }
    const constants = Object.keys(kernel.constants).length ? { constants: { ...kernel.constants } } : {};
    return this.device.createComputePipeline({
      label: `shadergrad:${kernel.name}`,
      layout: this.layoutFor(kernel.bindings, kernel.uniforms.length > 0).pipeline,
      compute: { module, entryPoint: kernel.entryPoint, ...constants },
    });
  }

  private layoutFor(bindings: readonly BindingKind[], uniform: boolean) {
    const key = bindings.map((b) => (b === 'read' ? 'r' : 'w')).join('') + (uniform ? 'u' : '');
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = bindings.map((kind, binding) => ({
        binding,
        visibility: COMPUTE_STAGE,
        buffer: { type: kind === 'read' ? 'read-only-storage' : 'storage' },
      }));
      if (uniform) entries.push({ binding: bindings.length, visibility: COMPUTE_STAGE, buffer: { type: 'uniform' } });
      const group = this.device.createBindGroupLayout({ entries, label: `shadergrad:layout:${key}` });
      const pipeline = this.device.createPipelineLayout({ bindGroupLayouts: [group], label: `shadergrad:layout:${key}` });
      layout = { group, pipeline };
      this.layouts.set(key, layout);
    }
    return layout;
  }
}

function variantKey(kernel: Kernel): string {
  const names = Object.keys(kernel.constants);
  if (!names.length) return kernel.entryPoint;
  return `${kernel.entryPoint}|${names
    .sort()
    .map((n) => `${n}=${kernel.constants[n]}`)
    .join(',')}`;
}
