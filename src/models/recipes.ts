import type { Recipe } from './registry.js';

/**
 * OpenLTH's default_hparams for its CIFAR-10 ResNets and VGGs (models/cifar_resnet.py,
 * cifar_vgg.py): Kaiming-normal init; SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 128,
 * 160 epochs, ×0.1 at epochs 80 and 120; random crop (4-pixel padding) + flip; global magnitude
 * pruning of 20% per level (sparse_global). VGG also leaves the output layer unpruned
 * (pruning_layers_to_ignore = fc.weight).
 */
export const CIFAR_RECIPE = {
  model: { init: 'he-normal' },
  training: {
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
    batchSize: 128,
    iterations: '160ep',
    schedule: { kind: 'step', milestones: ['80ep', '120ep'], gamma: 0.1 },
    augment: 'crop-flip',
  },
  pruning: { scope: 'global', globalRate: 0.2 },
} as const satisfies Recipe;
