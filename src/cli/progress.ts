// A one-line progress bar for the terminal (a plain line now and then when not a terminal).

export interface ProgressLine {
  fraction: number;
  text: string;
}

export class ProgressBar {
  private lastPlain = -1;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly width = 28,
  ) {}

  update({ fraction, text }: ProgressLine): void {
    const f = Math.min(1, Math.max(0, fraction));
    if (this.out.isTTY) {
      const full = Math.round(f * this.width);
      const bar = `${'█'.repeat(full)}${'░'.repeat(this.width - full)}`;
      this.out.write(`\r\x1b[2K${bar} ${(100 * f).toFixed(0).padStart(3)}% ${text}`);
      this.drawn = true;
      return;
    }
    // Not a terminal: a line at each 10%.
    const decile = Math.floor(f * 10);
    if (decile > this.lastPlain) {
      this.lastPlain = decile;
      this.out.write(`${(100 * f).toFixed(0).padStart(3)}% ${text}\n`);
    }
  }

  /** Prints a line (to `to`, default the bar's stream) above the bar, which is redrawn at the next update. */
  log(line: string, to: NodeJS.WritableStream = this.out): void {
    if (this.drawn && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.drawn = false;
    to.write(`${line}\n`);
  }

  done(): void {
    if (this.drawn && this.out.isTTY) this.out.write('\n');
    this.drawn = false;
  }
}
