/**
 * Weighted k-means of venues on the sphere: the public face of functions/clustering/kmeans/.
 * Every venue is a 3-D unit vector, not a (lat, lon) pair, so Fiji at 179.9°E and at 179.9°W are
 * neighbours and points ringing a pole cluster at the pole, which k-means on (lat, lon) gets
 * wrong. The objective is the classic k-means one on those vectors: the weighted sum of squared
 * Euclidean (chord) distances from each venue to the mean of its cluster, the "inertia"
 * (weights: RSVP counts). A centroid is the weighted mean of its members' vectors, so it lies a
 * little inside the sphere; its direction (toLatLon normalizes) is the cluster's centre on the
 * map. This is what scikit-learn's KMeans minimizes on the same vectors, so the two compare
 * directly (bench/cluster.bench.ts).
 *
 * k-means has many local minima on venue data: one k-means++ run can end several % above
 * another (scikit-learn's n_init exists for that). How this one gets low and stays fast,
 * single-threaded, and where each part lives:
 *
 * 1. Summary (kmeans/grid-summary.ts). Beyond `summarySize` points the search runs on a grid
 *    summary: venues are binned into cubic cells of the 3-D space (1/1024 of the venues'
 *    extent: 12 km for the world, metres for one metro area), 2 × 2 × 2 cells are merged until
 *    at most `summarySize` cells remain, and each cell stands for its venues with their total
 *    weight at their weighted mean. For any clustering that keeps cells whole, the venues'
 *    inertia is exactly the cells' inertia plus a constant (the scatter inside the cells), so
 *    the summary is the same problem except at the cells that straddle a border; 1,000,000
 *    venues of the benchmark become about 1,100 cells (and 3,000 one level finer).
 * 2. Search, on the summary: `starts` independent starts, each greedy weighted k-means++
 *    seeding as in scikit-learn (kmeans/seeding.ts: at each step 2 + ⌊ln k⌋ candidates drawn
 *    with probability ∝ weight × squared distance to the nearest centre; the one lowering the
 *    potential most is kept), Lloyd's iterations (kmeans/lloyd.ts), then a merge-and-split
 *    local search (kmeans/merge-and-split.ts): dissolve one cluster into its neighbours and
 *    split another in two (the pairs estimated best first), rerun Lloyd from there, keep the
 *    change if the inertia fell, until `maxFailedMoves` pairs in a row fail. This escapes the
 *    minima where one centroid serves two groups while two centroids share one. The best
 *    `polished` starts are polished the same way on the summary one level finer (2 to 8 × the
 *    cells), where the inertia is closer to the venues' own.
 * 3. Refinement, on all venues: Lloyd's iterations from the best centroids, starting from the
 *    cells' assignment (a venue's bounds follow from its distance to its cell's mean, so only
 *    venues in cells near a border are looked at), stopping like scikit-learn.
 *
 * kmeans/search.ts runs the three steps (sphericalKMeans); kmeans/lloyd.ts holds Lloyd's
 * iterations with Hamerly's bounds and how a run stops; kmeans/vectors.ts the conversions to and
 * from unit vectors and the distances; kmeans/choose-k.ts the choice of k by silhouette.
 *
 * Every random draw comes from a seeded PRNG (functions/shared/seeded-random.ts): the same input
 * and seed give the same clusters. Everything lives in flat typed arrays (1M venues: 24 MB of
 * vectors, about 32 MB more).
 */
export { type ChooseKOptions, type ChosenK, chooseK } from "./kmeans/choose-k.js";
export { type KMeansOptions, type KMeansResult, sphericalKMeans } from "./kmeans/search.js";
export { type GeoPoint, inertia, toLatLon, toUnitVectors } from "./kmeans/vectors.js";
