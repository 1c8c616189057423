/**
 * What the dashboard's query page lists: the views and tables of the open database with their
 * columns (read from SQLite itself, so the list is always this file's), and example queries that
 * run on any lth database (docs/SCHEMA.md explains every column).
 */
import type { Db } from './db.js';

export interface RelationInfo {
  name: string;
  kind: 'view' | 'table';
  columns: { name: string; type: string }[];
}

/** Views first (the stable interface), then the tables, each with its columns in order. */
export function relations(db: Db): RelationInfo[] {
  const rels = db
    .prepare("SELECT name, type FROM sqlite_master WHERE type IN ('view', 'table') AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name")
    .all() as {
    name: string;
    type: 'view' | 'table';
  }[];
  return rels.map((r) => ({
    name: r.name,
    kind: r.type,
    columns: (db.prepare('SELECT name, type FROM pragma_table_xinfo(?)').all(r.name) as { name: string; type: string }[]).map((c) => ({
      name: c.name,
      type: c.type || 'any',
    })),
  }));
}

export interface QueryExample {
  title: string;
  sql: string;
}

/** Example statements for the query box; each reads the views or one stored table and works on any lth database. */
export const QUERY_EXAMPLES: readonly QueryExample[] = [
  {
    title: 'Mean test accuracy at early stop and final, per strategy and level',
    sql: `SELECT experiment, strategy, level, round(avg(percent_remaining), 1) AS pct, count(*) AS n,
       round(100 * avg(early_stop_test_accuracy), 2) AS es_test_acc_pct,
       round(100 * avg(final_test_accuracy), 2) AS final_test_acc_pct
  FROM levels WHERE branch IS NULL
 GROUP BY experiment, strategy, level ORDER BY experiment, strategy, level`,
  },
  {
    title: 'Dense baseline per experiment (each dense network once)',
    sql: `SELECT experiment, count(*) AS trials, round(100 * avg(early_stop_test_accuracy), 2) AS es_test_acc_pct
  FROM (SELECT DISTINCT result_id, experiment, early_stop_test_accuracy FROM levels WHERE level = 0)
 GROUP BY experiment`,
  },
  {
    title: 'Learning curve of one level (mean over trials)',
    sql: `SELECT experiment, strategy, level, iteration, round(100 * avg(test_accuracy), 2) AS test_acc_pct, round(avg(val_loss), 4) AS val_loss
  FROM curves WHERE branch IS NULL AND level = 1
 GROUP BY experiment, strategy, level, iteration ORDER BY experiment, strategy, iteration`,
  },
  {
    title: 'Per-layer sparsity (table layer_sparsity)',
    sql: `SELECT l.experiment, l.strategy, l.trial, l.level, s.layer, s.remaining, s.total, round(100.0 * s.remaining / s.total, 1) AS pct
  FROM levels l JOIN layer_sparsity s ON s.result_id = l.result_id
 WHERE l.branch IS NULL ORDER BY l.experiment, l.strategy, l.trial, l.level, s.layer`,
  },
  {
    title: 'Units alive per layer, neuron/filter pruning (table unit_counts)',
    sql: `SELECT l.experiment, l.strategy, l.level, u.layer, avg(u.remaining) AS alive, max(u.total) AS total
  FROM levels l JOIN unit_counts u ON u.result_id = l.result_id
 GROUP BY l.experiment, l.strategy, l.level, u.layer ORDER BY l.experiment, l.strategy, l.level, u.layer`,
  },
  {
    title: 'Drop/regrow updates of SET, RigL and gradual pruning (table mask_updates)',
    sql: `SELECT l.experiment, l.strategy, l.trial, l.level, u.step, sum(u.dropped) AS dropped, sum(u.regrown) AS regrown, sum(u.remaining) AS kept
  FROM levels l JOIN mask_updates u ON u.result_id = l.result_id
 GROUP BY l.result_id, u.step ORDER BY l.experiment, l.strategy, l.trial, l.level, u.step`,
  },
  {
    title: 'Early-bird mask distance and the detection step (table mask_distances)',
    sql: `SELECT l.experiment, l.strategy, l.trial, l.level, d.iteration, round(d.distance, 5) AS distance,
       d.iteration = l.detection_iteration AS detected
  FROM levels l JOIN mask_distances d ON d.result_id = l.result_id
 ORDER BY l.experiment, l.strategy, l.trial, l.level, d.iteration`,
  },
  {
    title: 'Accuracy against training compute (table compute)',
    sql: `SELECT experiment, strategy, level, round(avg(percent_remaining), 1) AS pct, avg(total_iterations) AS iterations,
       printf('%.3e', avg(total_multiply_adds)) AS multiply_adds, round(100 * avg(early_stop_test_accuracy), 2) AS es_test_acc_pct
  FROM levels WHERE total_multiply_adds IS NOT NULL
 GROUP BY experiment, strategy, level ORDER BY experiment, strategy, level`,
  },
  {
    title: 'Activation sparsity per hidden layer (table activation_sparsity)',
    sql: `SELECT l.experiment, l.strategy, l.level, a.layer, round(100 * avg(a.zero_fraction), 2) AS zeros_pct
  FROM levels l JOIN activation_sparsity a ON a.result_id = l.result_id
 GROUP BY l.experiment, l.strategy, l.level, a.layer ORDER BY l.experiment, l.strategy, l.level, a.layer`,
  },
];
