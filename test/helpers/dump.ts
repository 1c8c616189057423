import Database from 'better-sqlite3';

/** Every table by natural keys, surrogate ids left out: two databases with the same content dump equally. */
export function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    const q = (sql: string) => db.prepare(sql).all();
    const key = 'e.name, r.strategy, r.branch, r.replicate, r.trial, r.level';
    return {
      experiments: q('SELECT name, spec_hash, spec_json, code_version, created_at FROM experiments ORDER BY name'),
      chains: q('SELECT e.name, c.strategy, c.trial, c.seed FROM chains c JOIN experiments e ON e.id = c.experiment_id ORDER BY 1, 2, 3'),
      results: q(
        `SELECT ${key}, r.percent_remaining, r.early_stop_iteration, r.early_stop_val_loss, r.early_stop_val_accuracy, r.early_stop_test_accuracy,
                r.final_val_loss, r.final_val_accuracy, r.final_test_loss, r.final_test_accuracy, r.iterations, r.wall_seconds, r.backend,
                r.mask_hash, r.weights_file, r.created_at
           FROM results r JOIN experiments e ON e.id = r.experiment_id ORDER BY ${key}`,
      ),
      curve_points: q(`SELECT ${key}, p.iteration, p.train_loss, p.val_loss, p.val_accuracy, p.test_loss, p.test_accuracy
                         FROM curve_points p JOIN results r ON r.id = p.result_id JOIN experiments e ON e.id = r.experiment_id ORDER BY ${key}, p.iteration`),
      layer_sparsity: q(`SELECT ${key}, s.layer, s.total, s.remaining
                           FROM layer_sparsity s JOIN results r ON r.id = s.result_id JOIN experiments e ON e.id = r.experiment_id ORDER BY ${key}, s.layer`),
      artifacts: q('SELECT e.name, a.key, a.file, a.sha256 FROM artifacts a JOIN experiments e ON e.id = a.experiment_id ORDER BY 1, 2'),
    };
  } finally {
    db.close();
  }
}
