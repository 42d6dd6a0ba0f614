// The spiral's decision regions: the model's class at every point of a grid, painted behind the training points.

import type { Engine, Network, Tensor } from '../index';

/** Grid points per side (GRID² predictions per redraw, in one batch). */
const GRID = 64;
/** The plotted square, [-EXTENT, EXTENT]² (the spiral fills the unit disc). */
const EXTENT = 1.15;
const CLASS_COLORS: readonly [number, number, number][] = [
  [79, 70, 229],
  [234, 88, 12],
  [13, 148, 136],
  [219, 39, 119],
  [202, 138, 4],
];

export class DecisionRegions {
  private readonly context: CanvasRenderingContext2D;
  private readonly regions: HTMLCanvasElement;
  private grid: { engine: Engine; tensor: Tensor } | null = null;
  private hasRegions = false;
  /** When the last redraw finished and how long it took (ms). */
  private last = { at: -Infinity, cost: 0 };

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** The training points: (n, 2) row-major, and their classes. */
    private readonly points: { X: Float32Array; y: Int32Array },
  ) {
    this.context = canvas.getContext('2d')!;
    this.regions = document.createElement('canvas');
    this.regions.width = GRID;
    this.regions.height = GRID;
    this.draw();
  }

  /**
   * Predicts every grid point with the model and redraws, unless `force` is false and the last
   * redraw was recent: on a slow (software) GPU the grid costs more than an epoch of the spiral, so
   * redraws are spaced to take at most a third of the time.
   */
  async update(engine: Engine, model: Network, force = true): Promise<void> {
    const started = performance.now();
    if (!force && started - this.last.at < 2 * this.last.cost) return;
    if (this.grid?.engine !== engine) {
      this.grid?.tensor.dispose();
      const xy = new Float32Array(GRID * GRID * 2);
      for (let row = 0; row < GRID; row++) {
        for (let col = 0; col < GRID; col++) {
          const i = row * GRID + col;
          xy[2 * i] = toData(col);
          xy[2 * i + 1] = -toData(row); // canvas rows go down, y goes up
        }
      }
      this.grid = { engine, tensor: engine.tensor(xy, [GRID * GRID, 2]) };
    }
    const classes = await model.predict(this.grid.tensor, { batchSize: GRID * GRID });
    const context = this.regions.getContext('2d')!;
    const image = context.createImageData(GRID, GRID);
    classes.forEach((c, i) => {
      const [r, g, b] = CLASS_COLORS[c % CLASS_COLORS.length]!;
      // The class colour washed out towards white: the points on top stay readable.
      image.data.set([255 - (255 - r) * 0.3, 255 - (255 - g) * 0.3, 255 - (255 - b) * 0.3, 255], 4 * i);
    });
    context.putImageData(image, 0, 0);
    this.hasRegions = true;
    this.draw();
    const now = performance.now();
    this.last = { at: now, cost: now - started };
  }

  /** Forgets the regions (a new model) and frees the grid's tensor. */
  reset(): void {
    this.hasRegions = false;
    this.last = { at: -Infinity, cost: 0 };
    this.grid?.tensor.dispose();
    this.grid = null;
    this.draw();
  }

  private draw(): void {
    const { canvas, context } = this;
    const size = canvas.width;
    context.fillStyle = '#f8fafc';
    context.fillRect(0, 0, size, size);
    if (this.hasRegions) {
      context.imageSmoothingEnabled = true;
      context.drawImage(this.regions, 0, 0, size, size);
    }
    const { X, y } = this.points;
    const radius = Math.max(2.5, size / 110);
    for (let i = 0; i < y.length; i++) {
      const [r, g, b] = CLASS_COLORS[y[i]! % CLASS_COLORS.length]!;
      const px = ((X[2 * i]! + EXTENT) / (2 * EXTENT)) * size;
      const py = ((EXTENT - X[2 * i + 1]!) / (2 * EXTENT)) * size;
      context.beginPath();
      context.arc(px, py, radius, 0, 2 * Math.PI);
      context.fillStyle = `rgb(${r}, ${g}, ${b})`;
      context.fill();
      context.lineWidth = 1;
      context.strokeStyle = '#ffffff';
      context.stroke();
    }
  }
}

/** The data coordinate of grid column (or row) i: cell centres across [-EXTENT, EXTENT]. */
function toData(i: number): number {
  return -EXTENT + ((i + 0.5) / GRID) * 2 * EXTENT;
}
