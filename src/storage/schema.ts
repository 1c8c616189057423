/**
 * The database schema. Tables may evolve (bump SCHEMA_VERSION and add a migration);
 * the `levels` and `curves` views are the documented, stable interface (docs/SCHEMA.md).
 *
 * Level 0 (dense training) is identical for every strategy of a trial — same θ0, same data
 * order — so it is trained once and stored once with strategy = '' ; the `levels` view shows
 * it under every chain strategy of the experiment so that each strategy's series starts at 100%.
 *
 * Units: accuracies are fractions in [0, 1]; losses are mean cross-entropy (nats) per example;
 * iterations are optimizer steps; percent_remaining is % of prunable weights (biases excluded).
 */
export const SCHEMA_VERSION = 4;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS experiments (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  spec_hash    TEXT NOT NULL,
  spec_json    TEXT NOT NULL,          -- the resolved spec, every default filled in
  code_version TEXT NOT NULL,
  created_at   TEXT NOT NULL
);

-- one row per (chain strategy, trial); written when the experiment is first registered
CREATE TABLE IF NOT EXISTS chains (
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  strategy      TEXT NOT NULL,
  trial         INTEGER NOT NULL,
  seed          INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, strategy, trial)
);

-- one row per trained (or only evaluated) network
CREATE TABLE IF NOT EXISTS results (
  id                       INTEGER PRIMARY KEY,
  experiment_id            INTEGER NOT NULL REFERENCES experiments(id),
  strategy                 TEXT NOT NULL,            -- '' for the shared dense level 0
  branch                   TEXT NOT NULL DEFAULT '', -- '' on a chain; control name on a branch
  replicate                INTEGER NOT NULL DEFAULT 0,
  trial                    INTEGER NOT NULL,
  level                    INTEGER NOT NULL,
  percent_remaining        REAL NOT NULL,
  early_stop_iteration     INTEGER,
  early_stop_val_loss      REAL,
  early_stop_val_accuracy  REAL,
  early_stop_test_accuracy REAL,
  final_val_loss           REAL,
  final_val_accuracy       REAL,
  final_test_loss          REAL,
  final_test_accuracy      REAL,
  iterations               INTEGER NOT NULL,         -- optimizer steps taken at this level
  wall_seconds             REAL NOT NULL,
  backend                  TEXT NOT NULL,
  mask_hash                TEXT NOT NULL,
  weights_file             TEXT,                     -- relative to the weights folder
  created_at               TEXT NOT NULL,
  UNIQUE (experiment_id, strategy, branch, replicate, trial, level)
);

CREATE TABLE IF NOT EXISTS layer_sparsity (
  result_id INTEGER NOT NULL REFERENCES results(id),
  layer     TEXT NOT NULL,
  total     INTEGER NOT NULL,
  remaining INTEGER NOT NULL,
  PRIMARY KEY (result_id, layer)
);

-- per result and unit layer (neuron/filter granularity only): units kept of the layer's units
CREATE TABLE IF NOT EXISTS unit_counts (
  result_id INTEGER NOT NULL REFERENCES results(id),
  layer     TEXT NOT NULL,    -- "fc1", "conv2"
  total     INTEGER NOT NULL, -- units of the dense network
  remaining INTEGER NOT NULL,
  PRIMARY KEY (result_id, layer)
);

-- per result and hidden layer: fraction of its ReLU outputs on the test split that are exactly 0
CREATE TABLE IF NOT EXISTS activation_sparsity (
  result_id     INTEGER NOT NULL REFERENCES results(id),
  layer         TEXT NOT NULL,
  zero_fraction REAL NOT NULL,
  PRIMARY KEY (result_id, layer)
);

CREATE TABLE IF NOT EXISTS curve_points (
  result_id     INTEGER NOT NULL REFERENCES results(id),
  iteration     INTEGER NOT NULL,
  train_loss    REAL,
  val_loss      REAL,
  val_accuracy  REAL,
  test_loss     REAL,
  test_accuracy REAL,
  PRIMARY KEY (result_id, iteration)
);

-- weight files (θ0, θ_k, masks, finals) live beside the database; this indexes them
CREATE TABLE IF NOT EXISTS artifacts (
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  key           TEXT NOT NULL,   -- e.g. "trial-0/theta-0"
  file          TEXT NOT NULL,   -- relative to the weights folder
  sha256        TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);

-- one row per job (dense level of a trial, or one chain of a trial) some process is running now:
-- two \`lth run\` on one database never train the same level twice (added in schema version 2)
CREATE TABLE IF NOT EXISTS locks (
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  job           TEXT NOT NULL,   -- e.g. "dense t0", "rewind t1"
  pid           INTEGER NOT NULL,
  host          TEXT NOT NULL,
  heartbeat_at  TEXT NOT NULL,   -- refreshed every 30 s while held; stale after 10 minutes
  PRIMARY KEY (experiment_id, job)
);

-- pruning during training: each mask update's change per layer (added in schema version 3)
CREATE TABLE IF NOT EXISTS mask_updates (
  result_id INTEGER NOT NULL REFERENCES results(id),
  step      INTEGER NOT NULL,   -- the update ran before this optimizer step
  layer     TEXT NOT NULL,
  dropped   INTEGER NOT NULL,   -- weights pruned by this update
  regrown   INTEGER NOT NULL,   -- weights revived (at 0) by this update
  remaining INTEGER NOT NULL,   -- weights of the layer kept after it
  PRIMARY KEY (result_id, step, layer)
);

-- early-bird search: normalized Hamming distance between consecutive magnitude masks (version 3)
CREATE TABLE IF NOT EXISTS mask_distances (
  result_id INTEGER NOT NULL REFERENCES results(id),
  iteration INTEGER NOT NULL,
  distance  REAL NOT NULL,
  PRIMARY KEY (result_id, iteration)
);

-- training compute spent to reach a row, earlier levels and dense training included (version 3)
CREATE TABLE IF NOT EXISTS compute (
  result_id            INTEGER PRIMARY KEY REFERENCES results(id),
  total_iterations     INTEGER NOT NULL,  -- optimizer steps, every level this row needed
  total_multiply_adds  REAL NOT NULL,     -- forward + backward multiply-adds of those steps
  detection_iteration  INTEGER            -- early-bird: the dense step the mask was taken at
);

-- instability branch rows (version 4): test loss and error of (1 − α)·w_a + α·w_b, the straight line
-- between the final weights of two copies trained from the same start with different data orders
CREATE TABLE IF NOT EXISTS instability (
  result_id  INTEGER NOT NULL REFERENCES results(id),
  point      INTEGER NOT NULL,   -- 0 … points − 1
  alpha      REAL NOT NULL,      -- point / (points − 1): 0 = copy a, 1 = copy b
  test_loss  REAL NOT NULL,
  test_error REAL NOT NULL,      -- 1 − test accuracy
  PRIMARY KEY (result_id, point)
);

-- lth analyze noise (version 4): test accuracy of a stored level's final weights on perturbed test inputs
CREATE TABLE IF NOT EXISTS noise_robustness (
  result_id     INTEGER NOT NULL REFERENCES results(id),
  noise         TEXT NOT NULL,   -- 'gaussian' (amount = σ, in units of the normalized input) or 'flip' (amount = fraction of inputs flipped)
  amount        REAL NOT NULL,
  test_loss     REAL NOT NULL,
  test_accuracy REAL NOT NULL,
  PRIMARY KEY (result_id, noise, amount)
);

-- lth analyze reinit (version 4): test accuracy with one layer reset, the rest of the level's final weights kept
CREATE TABLE IF NOT EXISTS layer_reset (
  result_id     INTEGER NOT NULL REFERENCES results(id),
  layer         TEXT NOT NULL,   -- "fc1", "conv2": every parameter named "<layer>/…"
  mode          TEXT NOT NULL,   -- 'reinit' (θ0 ⊙ m) or 'rerandomize' (a fresh draw ⊙ m)
  test_loss     REAL NOT NULL,
  test_accuracy REAL NOT NULL,
  PRIMARY KEY (result_id, layer, mode)
);

DROP VIEW IF EXISTS instability_barriers;
CREATE VIEW instability_barriers AS
SELECT i.result_id,
       max(i.test_error) - (sum(CASE WHEN i.alpha = 0 OR i.alpha = 1 THEN i.test_error END) / 2) AS barrier,
       max(i.test_error) AS max_error, count(*) AS points
  FROM instability i GROUP BY i.result_id;

DROP VIEW IF EXISTS levels;
CREATE VIEW levels AS
SELECT e.name AS experiment, e.spec_hash, c.strategy, NULL AS branch, 0 AS replicate, r.trial, c.seed, r.level,
       r.percent_remaining, r.early_stop_iteration, r.early_stop_val_loss, r.early_stop_val_accuracy,
       r.early_stop_test_accuracy, r.final_test_accuracy, r.final_test_loss, r.final_val_loss, r.final_val_accuracy,
       r.iterations, r.wall_seconds, r.backend, r.mask_hash, r.id AS result_id,
       k.total_iterations, k.total_multiply_adds, k.detection_iteration,
       (SELECT avg(a.zero_fraction) FROM activation_sparsity a WHERE a.result_id = r.id) AS activation_sparsity,
       (SELECT max(i.test_error) - sum(CASE WHEN i.alpha = 0 OR i.alpha = 1 THEN i.test_error END) / 2 FROM instability i WHERE i.result_id = r.id) AS instability_barrier
  FROM results r
  JOIN experiments e ON e.id = r.experiment_id
  JOIN chains c ON c.experiment_id = r.experiment_id AND c.trial = r.trial
  LEFT JOIN compute k ON k.result_id = r.id
 WHERE r.strategy = '' AND r.branch = ''
UNION ALL
SELECT e.name, e.spec_hash, r.strategy, NULLIF(r.branch, ''), r.replicate, r.trial, c.seed, r.level,
       r.percent_remaining, r.early_stop_iteration, r.early_stop_val_loss, r.early_stop_val_accuracy,
       r.early_stop_test_accuracy, r.final_test_accuracy, r.final_test_loss, r.final_val_loss, r.final_val_accuracy,
       r.iterations, r.wall_seconds, r.backend, r.mask_hash, r.id,
       k.total_iterations, k.total_multiply_adds, k.detection_iteration,
       (SELECT avg(a.zero_fraction) FROM activation_sparsity a WHERE a.result_id = r.id),
       (SELECT max(i.test_error) - sum(CASE WHEN i.alpha = 0 OR i.alpha = 1 THEN i.test_error END) / 2 FROM instability i WHERE i.result_id = r.id)
  FROM results r
  JOIN experiments e ON e.id = r.experiment_id
  LEFT JOIN compute k ON k.result_id = r.id
  LEFT JOIN chains c ON c.experiment_id = r.experiment_id AND c.strategy = r.strategy AND c.trial = r.trial
 WHERE r.strategy <> '' OR r.branch <> '';

DROP VIEW IF EXISTS curves;
CREATE VIEW curves AS
SELECT l.experiment, l.strategy, l.branch, l.replicate, l.trial, l.level, l.percent_remaining,
       p.iteration, p.train_loss, p.val_loss, p.val_accuracy, p.test_loss, p.test_accuracy
  FROM levels l JOIN curve_points p ON p.result_id = l.result_id;
`;
