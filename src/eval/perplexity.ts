// Perplexity and token accuracy: the two numbers a language-model or translation run reports
// beside its loss. Labels follow the Hugging Face convention: -100 marks a position to ignore
// (padding, prompt), so it counts neither as a token nor as a hit.

/** The label value that marks an ignored position. */
export const IGNORE_INDEX = -100;

/**
 * Perplexity from a summed negative log-likelihood (natural log) over `tokens` tokens:
 * exp(nll / tokens). With no tokens there is nothing to measure and the answer is NaN.
 */
export function perplexity(sumNll: number, tokens: number): number {
  return tokens > 0 ? Math.exp(sumNll / tokens) : Number.NaN;
}

/** Perplexity from a mean cross-entropy loss in nats per token: exp(loss). */
export function perplexityFromLoss(meanLoss: number): number {
  return Math.exp(meanLoss);
}

/** Perplexity from per-token log-probabilities (natural log) of the observed tokens. */
export function perplexityFromLogProbs(logProbs: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < logProbs.length; i++) sum -= logProbs[i];
  return perplexity(sum, logProbs.length);
}

export interface TokenAccuracy {
  /** Positions whose prediction equals the label. */
  correct: number;
  /** Positions whose label is not ignoreIndex. */
  total: number;
  /** correct / total, NaN when total is 0. */
  accuracy: number;
}

/** Accuracy of predicted ids against labels, skipping positions labelled `ignoreIndex`. */
export function tokenAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  ignoreIndex = IGNORE_INDEX,
): TokenAccuracy {
  if (predicted.length !== labels.length) {
    throw new RangeError(
      `tokenAccuracy: ${predicted.length} predictions for ${labels.length} labels`,
    );
  }
  let correct = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === ignoreIndex) continue;
    total++;
    if (predicted[i] === labels[i]) correct++;
  }
  return { correct, total, accuracy: total > 0 ? correct / total : Number.NaN };
}

/**
 * Token accuracy of the arg-max of logits [N, V] (row-major) against N labels. Ties go to the
 * lowest id, as `argmax` does in PyTorch and NumPy.
 */
export function argmaxAccuracy(
  logits: ArrayLike<number>,
  vocabSize: number,
  labels: ArrayLike<number>,
  ignoreIndex = IGNORE_INDEX,
): TokenAccuracy {
  if (logits.length !== labels.length * vocabSize) {
    throw new RangeError(
      `argmaxAccuracy: ${logits.length} logits are not ${labels.length} rows of ${vocabSize}`,
    );
  }
  const predicted = new Int32Array(labels.length);
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    let bestValue = logits[r * vocabSize];
    for (let v = 1; v < vocabSize; v++) {
      const x = logits[r * vocabSize + v];
      if (x > bestValue) {
        bestValue = x;
        best = v;
      }
    }
    predicted[r] = best;
  }
  return tokenAccuracy(predicted, labels, ignoreIndex);
}
