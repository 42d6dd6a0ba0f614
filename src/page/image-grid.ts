// A grid of validation images drawn from their bytes, each with its predicted and true label; wrong predictions are marked.

export interface Images {
  /** count × rows × cols bytes. */
  bytes: Uint8Array;
  rows: number;
  cols: number;
  labels: Int32Array;
}

export class ImageGrid {
  private readonly tiles: Array<{ root: HTMLElement; predicted: HTMLElement }> = [];
  private readonly summary: HTMLElement;

  /** Draws images `indices` of `images` once; `showPredictions` labels them. */
  constructor(
    container: HTMLElement,
    summary: HTMLElement,
    private readonly images: Images,
    private readonly indices: readonly number[],
    private readonly classNames: readonly string[],
  ) {
    this.summary = summary;
    container.replaceChildren();
    const { rows, cols, bytes, labels } = images;
    for (const index of indices) {
      const root = document.createElement('figure');
      root.className = 'tile';
      const canvas = document.createElement('canvas');
      canvas.width = cols;
      canvas.height = rows;
      const context = canvas.getContext('2d')!;
      const pixels = context.createImageData(cols, rows);
      const offset = index * rows * cols;
      for (let p = 0; p < rows * cols; p++) {
        // Ink dark on paper: 255 − value, as the garments are light on black in the files.
        const v = 255 - bytes[offset + p]!;
        pixels.data.set([v, v, v, 255], 4 * p);
      }
      context.putImageData(pixels, 0, 0);
      const caption = document.createElement('figcaption');
      const predicted = document.createElement('span');
      predicted.className = 'predicted';
      predicted.textContent = '—';
      const truth = document.createElement('span');
      truth.className = 'truth';
      truth.textContent = classNames[labels[index]!] ?? String(labels[index]);
      caption.append(predicted, truth);
      root.append(canvas, caption);
      root.title = `validation image ${index}: ${truth.textContent}`;
      container.append(root);
      this.tiles.push({ root, predicted });
    }
    this.summary.textContent = 'predictions appear after the first epoch';
  }

  /** Labels each image with its predicted class (predictions: one per validation image). */
  showPredictions(predictions: Int32Array): void {
    let wrong = 0;
    this.indices.forEach((index, i) => {
      const tile = this.tiles[i]!;
      const predicted = predictions[index]!;
      const truth = this.images.labels[index]!;
      const ok = predicted === truth;
      if (!ok) wrong++;
      tile.predicted.textContent = this.classNames[predicted] ?? String(predicted);
      tile.root.classList.toggle('wrong', !ok);
      tile.root.classList.toggle('right', ok);
      tile.root.title = `validation image ${index}: ${this.classNames[truth]}, predicted ${this.classNames[predicted]}`;
    });
    this.summary.textContent = `${wrong} of ${this.indices.length} wrong`;
  }
}

/** `count` distinct indices below `n`, the same on every load (a fixed linear congruential walk). */
export function sampleIndices(n: number, count: number): number[] {
  const out = new Set<number>();
  let x = 12345;
  while (out.size < Math.min(count, n)) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.add((x >>> 8) % n);
  }
  return [...out];
}
