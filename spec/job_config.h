// One training job as data: what `fracsweep train JOB.yaml` reads, and what a
// sweep expands into.
//
// A job file has four sections, every key optional except data.store and
// output; a `preset` fills the defaults first ("paper": TSCCN §IV-B — Adam,
// lr 1e-4, batch 64, 100 epochs, minority over-sampling, rotation and flips,
// ResNet-18 at full width; "tiny": the same model family at width 4, a few
// epochs, for tests and smoke runs on small patches), then the file's values
// override them. Unknown keys are errors (a typo must not silently fall back to
// a default), reported with the file and the key's path:
//
//   preset: paper
//   output: runs/tsccn/fold0-seed1
//   data:  {store: vcf.h5, split: random, repeat: 0, split_seed: 0, subset: 1.0}
//          split: random (3:1:1 by patient, `repeat` picks the draw) or
//          kfold (folds, fold, val_share)
//   model: {variant: tsccn, width: 64, in_channels: 1, split_stage: 2,
//           share_branches: true, init_weights: resnet18.pt}
//   train: {epochs: 100, batch_size: 64, lr: 1e-4, sampler: auto, budget: epochs,
//           rotation: 10, hflip: 0.5, vflip: 0.5, seed: 1, threads: 0,
//           loader_workers: 2, selection_metric: aAUC,
//           loss_weights: {ce: 1, d: 0.2, c: 1, w: 1}, u_hat: 4,
//           triplet_margin: 0.2, device: auto, precision: fp32,
//           channels_last: false, ...}
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "spec/variants.h"

namespace fracsweep::spec {

struct DataConfig {
  std::string store;         // the patch store (.h5)
  std::string split = "random";  // "random" (3:1:1) or "kfold"
  int repeat = 0;            // random: which draw
  int folds = 5, fold = 0;   // kfold
  double val_share = 0.1;    // kfold: validation share of all patients (70/10/20)
  uint64_t split_seed = 0;
  double subset = 1.0;       // share of the training patients (data-size study: 0.25, 0.5, 1)
};

struct ModelConfig {
  // A variant of the registry (spec/variants.h; `fracsweep variants` lists them): TSCCN,
  // its ablations and Table I's baselines on a vertebra store, AASN's Table 2 rows and
  // Table 1's baselines on a pelvis store, or a synthetic learning curve that trains nothing.
  std::string variant{kDefaultVariant};
  // ResNet base width (torchvision: 64); for AASN the DenseNet's growth rate (32 is
  // DenseNet-121, the default of an AASN job).
  int width = 64;
  int in_channels = 1;       // 3 repeats the grey channel, for RGB-pretrained weights
  int split_stage = 2;       // compare network: branches before this ResNet stage
  bool share_branches = true;
  std::string init_weights;  // TorchScript export of torchvision ResNet-18 (DenseNet-121 for AASN)
  // A model exported from PyTorch (spec/exported.h): its package (.pt2, `fracsweep export`)
  // or its model file (.py, which `fracsweep run` exports before any job starts); the
  // package's manifest describes the variant named in `variant`.
  std::string package;
};

struct LossWeightsConfig {
  double ce = 1, d = 0.2, c = 1, w = 1;  // TSCCN eq. 6: 1 : 0.2 : 1 : 1
};

struct TrainConfig {
  int epochs = 100;
  int batch_size = 64;
  double lr = 1e-4;
  double weight_decay = 0;
  // shuffle | oversample | balanced, or auto: the paper's choice for the
  // variant (over-sampling for TSCCN and its ablations, RS (Table I's RS row is
  // Table II's over-sampled ResNet), SMOTE, PC-Net, NTS-Net and SDL-Net; plain
  // shuffling for the ResNet, re-weighting and margin baselines, Table I).
  std::string sampler = "auto";
  // epochs: `epochs` passes of the sampler's own order (the papers' setting), so an
  // over-sampled row takes several times the steps of a shuffled one; steps: every epoch
  // of every sampler is as long as an over-sampled epoch (datastore/sampler.h), so rows
  // that differ in sampler train for the same number of steps. The report says which.
  std::string budget = "epochs";
  double rotation = 10, hflip = 0.5, vflip = 0.5;
  uint64_t seed = 1;
  int threads = 0;          // intra-op threads; 0 = the cores of this rank
  int loader_workers = 2;
  std::string selection_metric = "aAUC";  // validation metric of the best checkpoint
  LossWeightsConfig loss_weights;
  double u_hat = 4;          // TSCCN eq. 5
  double triplet_margin = 0.2;
  double cb_beta = 0.999;    // CB-RW (paper: 0.999)
  int drw_epoch = 0;         // LDAM-DRW: re-weighting from this epoch; 0 = 80% of epochs
  double pc_weight = 10;     // PC-Net: weight of the pairwise confusion term
  double sdl_weight = 1;     // SDL-Net: weight of the synergic term
  int smote_k = 5;           // SMOTE: nearest neighbours per minority sample
  int nts_proposals = 6;     // NTS-Net: parts the Teacher sees (the paper's M)
  int nts_parts = 4;         // NTS-Net: parts the Scrutinizer concatenates (K)
  double aasn_margin = 0.5;  // AASN: m of the contrastive margin loss (eq. 2)
  double aasn_lambda = 0.5;  // AASN: weight of L_c in L = L_b + lambda L_c (eq. 1)
  double nts_part_scale = 0.5;   // NTS-Net: part image side / input side (224 of 448)
  double nts_rank_weight = 1;    // NTS-Net: weight of the Navigator's ranking loss
  // Where the job trains: auto (this rank's GPU when one is visible, else the CPU), cpu or
  // cuda (refused where no GPU is visible). See trainer/device.h. Not part of the
  // resolved job (to_yaml), so the job's id and folder are the same on every device.
  std::string device = "auto";
  // fp32, or bf16: forward and loss under bfloat16 autocast, parameters and gradients in
  // fp32 (no loss scaling needed). Faster on GPUs with bf16 tensor cores; changes results.
  std::string precision = "fp32";
  bool channels_last = false;    // convolutions in NHWC layout (cuDNN's fast path on GPUs)
  // auto: a training step of a full batch is captured once as a CUDA graph and replayed
  // where the device, precision and model allow it (trainer/cuda_graphs.h), else eager,
  // saying why; on: captured, or the job is refused; off: never. Not part of the
  // resolved job: a graph replays the same kernels.
  std::string cuda_graphs = "auto";
  double curve_epoch_seconds = 0;  // variant "curve": how long each epoch sleeps
};

struct JobConfig {
  std::string name;          // defaults to the output folder's name
  std::string preset = "paper";
  std::string output;        // the job's folder
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
};

// Reads and validates a job file. Throws core::ConfigError naming the file,
// the key and what is wrong (unknown key, wrong type, value out of range).
// `variants` says which model.variant values exist and what each defaults to.
JobConfig load_job_config(const std::string& path,
                          const VariantRegistry& variants = VariantRegistry::built_in());

// The same from YAML text; `where` names the source in messages.
JobConfig parse_job_config(const std::string& yaml_text, const std::string& where,
                           const VariantRegistry& variants = VariantRegistry::built_in());

// The fully resolved job as YAML (every key, defaults included), for the job's
// folder, so a result always says exactly what produced it.
std::string to_yaml(const JobConfig& job);

// Throws core::ConfigError when values are out of range or inconsistent.
// An unknown model.variant is one of them, named with the known ones.
void validate(const JobConfig& job, const std::string& where,
              const VariantRegistry& variants = VariantRegistry::built_in());

// Throws core::ConfigError when train.batch_size cannot be split over a data-parallel
// group of `group_size` ranks: each rank's share must be at least two samples (batch norm
// cannot train on one) and the shares equal. The message names `where`, the key, the value,
// the group (as `group_from` calls it, e.g. "ranks_per_job 4") and the batch sizes that fit.
// A job whose variant trains nothing (Variant::trains) takes any batch size.
void validate_group(const JobConfig& job, int group_size, const std::string& group_from,
                    const std::string& where,
                    const VariantRegistry& variants = VariantRegistry::built_in());

}  // namespace fracsweep::spec
