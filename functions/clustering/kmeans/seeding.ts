/** How each start of the k-means search picks its k first centroids. */

/**
 * Greedy weighted k-means++ (scikit-learn's): each next centre is the best of 2 + ⌊ln k⌋
 * candidates drawn with probability ∝ weight × squared distance to the nearest centre so far,
 * "best" meaning the lowest potential (Σ weight × that squared distance) once it is added.
 */
export function kMeansPlusPlus(
  vectors: Float64Array,
  weights: Float64Array,
  k: number,
  random: () => number,
): Float64Array {
  const n = weights.length;
  const trials = 2 + Math.floor(Math.log(k));
  const centroids = new Float64Array(k * 3);
  const nearest = new Float64Array(n);
  /** Running totals of weight × nearest, for drawing by binary search. */
  const cumulative = new Float64Array(n);
  const candidates = new Float64Array(3 * trials);
  const chosen = new Int32Array(trials);
  const potentials = new Float64Array(trials);
  const draw = (): number => {
    const total = cumulative[n - 1] as number;
    if (!(total > 0)) return Math.floor(random() * n);
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) > target) high = middle;
      else low = middle + 1;
    }
    return low;
  };

  let running = 0;
  for (let i = 0; i < n; i++) cumulative[i] = running += weights[i] as number;
  let pick = draw();
  for (let c = 0; ; c++) {
    const cx = vectors[3 * pick] as number;
    const cy = vectors[3 * pick + 1] as number;
    const cz = vectors[3 * pick + 2] as number;
    centroids[3 * c] = cx;
    centroids[3 * c + 1] = cy;
    centroids[3 * c + 2] = cz;
    running = 0;
    for (let i = 0; i < n; i++) {
      const dx = (vectors[3 * i] as number) - cx;
      const dy = (vectors[3 * i + 1] as number) - cy;
      const dz = (vectors[3 * i + 2] as number) - cz;
      const d = dx * dx + dy * dy + dz * dz;
      const near = c === 0 || d < (nearest[i] as number) ? d : (nearest[i] as number);
      nearest[i] = near;
      cumulative[i] = running += (weights[i] as number) * near;
    }
    if (c + 1 === k) return centroids;

    for (let t = 0; t < trials; t++) {
      const index = draw();
      chosen[t] = index;
      candidates[3 * t] = vectors[3 * index] as number;
      candidates[3 * t + 1] = vectors[3 * index + 1] as number;
      candidates[3 * t + 2] = vectors[3 * index + 2] as number;
    }
    for (let t = 0; t < trials; t++) {
      const px = candidates[3 * t] as number;
      const py = candidates[3 * t + 1] as number;
      const pz = candidates[3 * t + 2] as number;
      let potential = 0;
      for (let i = 0; i < n; i++) {
        const dx = (vectors[3 * i] as number) - px;
        const dy = (vectors[3 * i + 1] as number) - py;
        const dz = (vectors[3 * i + 2] as number) - pz;
        const d = dx * dx + dy * dy + dz * dz;
        const near = nearest[i] as number;
        potential += (weights[i] as number) * Math.min(d, near);
      }
      potentials[t] = potential;
    }
    let best = 0;
    for (let t = 1; t < trials; t++) {
      if ((potentials[t] as number) < (potentials[best] as number)) best = t;
    }
    pick = chosen[best] as number;
  }
}
