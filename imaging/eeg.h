// imaging/eeg.h — NN-EEG, the temporal imaging: channels sampled once per SGD step, their spectra,
// states and events (README "NN-EEG"; the signal processing is imaging/eeg_signal.h).
//
// Channels (one row per SGD step t, float32; the column order is channels()):
//   loss                       the step's batch mean cross-entropy
//   <block>/grad_norm          ‖∇W‖ of the block's learnable tensors (0 for a block without any)
//   <block>/update_ratio       ‖ΔW‖/‖W‖ of the step
//   <block>/activity           mean over the minibatch and the block's units of |a|
//   <block>/<grid_i_j_k>       s_g(t): mean over the minibatch and region g's units of |a|
// for every block of the net in order, its regions cut by the run's --grid (run/region_grid.h).
//
// Events: a channel's change at step t (1-based over the run) is its log-ratio
//   d_c(t) = ln(|x_c(t)| + ε_c) − ln(|x_c(t−1)| + ε_c),
// scored against the changes of the H = kHistory (128) steps ending at the last multiple r of
// R = kRefresh (16) before t: z_c(t) = (d_c(t) − median(d)) / (1.4826 · max(MAD(d), 10^-3)),
// defined once the run has more than H + 1 steps at r.  ε_c (fixed at r with the median and MAD):
// 10^-3 of the channel's median |level| over the same history, for a region 1 % of its block's
// median activity (a region that is almost always 0 then has changes near 0, not huge ones).
// Not tested (z = 0): a channel whose median level over the history is 0, and a region whose median
// activity is below 1 % of its block's (an almost-silent region has no distribution to leave: on the
// first clean planted run such regions waking up gave z of 40 … 190).
// An onset: |z_c(t)| ≥ θ (kThreshold = 6) while |z_c(t−1)| < θ (or undefined).  It becomes an
// event when it holds at the next tested step t': the change from the row before the onset to t',
// scored the same way, is again beyond θ on the same side, and so is the change from the row before
// that one (two rows before the onset) to t' — the level the onset left must differ from the level
// before it, not only from a one-row excursion just before the onset (a spike just under θ at t−1
// makes the return at t an onset of the opposite sign, which the first condition alone confirmed).
// All three levels of the confirmation take the ε of t''s baseline (a refresh may fall between t and t').
// So an event is reported one step after
// its onset (it names the onset's step), and a one-step fault or a one-batch spike is not an event:
// a clean planted run (tiny net, batches of 32) had unconfirmed region onsets of z 6.3 and 6.4,
// each a single batch.  It belongs to the epoch whose step confirmed it (its file lists a step up to 2 before its own first).
// θ = 6: with about 10^5 tests per epoch a Gaussian tail would need |z| > 4.9 for under one false
// alarm in 10 epochs; 6 leaves room for heavier tails (chosen before any run was measured).
// Why log-ratios of consecutive steps and not the level: the channels drift with the schedule (a
// cosine schedule lowers the update ratio 20× over a run), so a trailing median of the level lags
// the drift, and differences mix the scales of early and late steps: on the first planted runs an
// lr spike ×10 was no event as a level (conv1's update ratio 7e-5 → 5.7e-4 against a history whose
// median was 3e-4), and as a difference it scored 1.7 (conv2's, 5e-5 → 4.4e-4); regions that are
// almost always 0 scored 10^7 on their rare tiny values.  A fault that builds up
// slowly over many steps is therefore not an event.
// An epoch's last step is not tested when its batch is smaller than the others (the training set
// is not a multiple of --batch; with one step per epoch there are no others, so no step is short): its smaller batch has another sampling noise (the first clean
// planted run's only events were at those steps); the step after it takes its change from the step
// before the short one, and the short steps are not in the history.

// Band-power events (γ bursts; README "NN-EEG"): for every channel and step t, its γ power
// g_c(t) = Σ P_k over the γ bins (k/S ≥ 1/4) of the periodogram (eeg_signal.h: detrended, Hann,
// one-sided) of its last S = kBandSegment (16) rows — undefined while fewer than S rows exist, or
// when one of them is a short last batch (above) or not finite.  Scored on a log scale,
// b_c(t) = ln(g_c(t) + ε_c²) (ε_c of the change rule above), as z = (b − median)/(1.4826·max(MAD,
// 10^-3)) against the b of the H steps ending S steps before the last multiple r of R before t (steps
// r − S − H + 1 … r − S: their windows do not overlap t's); refreshed with the change rule's baseline,
// at least H/2 of those b defined, and not for a channel the change rule does not score.  An event
// is a γ burst: an onset z ≥ θ while the step before was below θ (no confirmation step: the S-step
// windows of consecutive steps overlap, so an onset holds for up to S steps by construction; a single
// batch far enough out of line is therefore a γ burst).  A fall (z ≤ −θ) is not an event.
// Why bursts only (second version, written before any run was scored with it): under white Gaussian
// noise g is a weighted sum of 9 χ²₁ (eigenvalues 2.5 … 0.006, ~4.9 effective degrees of freedom), so
// ln g has a long lower tail and a short upper one: scored like this, z reaches −6 with probability
// ~3·10^-6 per window (≈ 3 per 10 epochs of reference's 1,400 channels by noise alone), while z ≥ 6
// needs g ≥ 50 × its median, probability ≤ 3·10^-31 (Chernoff).  The first version (|z| ≥ θ) gave
// ~16 events per 10 clean CIFAR-10 epochs, nearly all drops.  θ is the change rule's, not tuned.
// Found after measuring: that bound assumes a known median and MAD; estimated from 128 overlapping
// windows, white noise scored by this rule reaches z 6.3 (≈ 1.5·10^-5 per window; bench/README.md).
// Such events carry band "gamma": "conv2 grid_3_4_2: γ burst at step 1234, z 7.2".
// Cost: the 5 γ bins of one 16-point periodogram per channel and step.

// Band threshold θ_γ, third version (2026-12-01, written before any run used it; README "NN-EEG",
// "Band-power threshold θ_γ from the estimator's own null"): a γ burst is an onset z ≥ θ_γ instead of
// z ≥ θ, θ_γ = band_threshold(C, F) = the smallest θ (to 10^-3) with C·F·p(θ) ≤ kBandFamilyRate (0.5),
// C the run's channels, F = 10 × steps per epoch (1,000 when unknown), p(θ) = P(z ≥ θ) for one window
// of white Gaussian noise scored exactly as above, baseline estimation included: p(θ) = mean over
// B = 4,096 simulated baselines (m̂, ŝ) of Q(exp(m̂ + θ·ŝ)), Q the upper tail of g = xᵀAx for unit white
// noise (A from band_power, eigenvalues by Jacobi, Q by the Lugannani–Rice saddlepoint).  Union bound:
// at most 0.5 expected noise exceedances per 10 epochs over all channels.  Not modelled: ε (taken as 0),
// autocorrelation (no AR(1) null, decided in advance), heavy tails.  The change rule keeps θ = 6.

// Schedule-driven channels (issue 15, README "NN-EEG", "Schedule-driven channels"; written before any
// run was scored with it): ‖ΔW‖/‖W‖ is the step's learning rate η(t) times a level the schedule does
// not set (SGD: ΔW = −η·v; Adam: −η·its normalised step), so with a schedule the change rule scores
// every update_ratio channel as u(t) = |x(t)| / η(t), η = the schedule's rate of global step t
// (warm-up included, an injected lr fault not), ε = 10^-3 of the median u over the baseline's steps;
// a step with η not > 0 is not scored.  The rows, the band rule (recorded level, its ε) and the states
// are unchanged.  The change rule's own threshold stays θ = 6: under a white-noise null of its own
// estimator (bench/eeg_change_null.py) the calibrated θ would be 4.8 (reference) / 4.0 (planted net),
// below 6, so the clean false alarms are real changes, not baseline noise.

// States per block at the end of an epoch, over the last W steps (W = --eeg-window), first match:
//   diverged  a non-finite value in the loss or the block's channels in the window
//   dead      the block's activity averages below 1e-6 over the window
//   unstable  the block's update ratio has a median over the window more than 3 × its median over
//             the W steps before (needs 2W steps; an lr spike ×10 shows here)
//   learning  the loss's least-squares slope over the window has a t-statistic below −2
//   plateau   otherwise
// (no state before W steps: "warming_up").
//
// Spectra at the end of an epoch: Welch (segment W, Hann, 50 % overlap, per-segment linear
// detrend) over the last min(2W, steps so far) steps, when at least W steps are recorded.
//
// Memory is bounded: the recorder keeps the current epoch's rows (written as eeg/epoch_NNN.npy)
// and a ring of the last kept_rows() = max(2W, H + 2R) rows.  Every result is a function of the
// float32 rows, so a run resumed from the files (reload) gives the same bytes as an uninterrupted one.
#pragma once
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "imaging/eeg_signal.h"
#include "nn/network.h"
#include "nn/trainer.h"
#include "run/region_grid.h"

namespace imaging::eeg {

constexpr int kHistory = 128, kRefresh = 16, kBandSegment = 16;
constexpr long kUnitChunk = 4096;  // Recorder::accumulate's units per chunk (16 KB of sums)
constexpr double kThreshold = 6.0;
constexpr int kDefaultWindow = 128;
constexpr int kMaxWindow = 4096;  // the ring then holds at most 8,192 rows (45 MB for reference)
constexpr double kBandFamilyRate = 0.5;  // expected noise exceedances per 10 epochs over all channels
constexpr long kBandFamilySteps = 1000;  // F when the steps per epoch are unknown
constexpr int kBandNullBaselines = 4096;

// The baseline of a set of values, the change rule's and the band rule's alike: their median and
// 1.4826·max(MAD, 10^-3) (the rules above).
std::pair<double, double> robust_baseline(std::vector<double> values);
// p(θ): the probability that one window of white Gaussian noise, scored exactly as the band rule
// scores (its baseline estimated from the 128 windows ending S before), reaches z ≥ θ (θ_γ above).
double band_null_exceedance(double theta);
// θ_γ for C channels and F steps: the smallest θ (to 10^-3) with C·F·p(θ) ≤ kBandFamilyRate.
double band_threshold(size_t channels, long family_steps);

struct Event {
  long step = 0;        // 1-based over the run
  int epoch = 0;
  std::string block;    // "" for the loss
  std::string region;   // grid_i_j_k, or "" for a block channel
  std::string channel;  // loss, grad_norm, update_ratio, activity, region
  double z = 0;
  std::string band;     // "" for a change of the channel's level, "gamma" for a band-power event
  std::string line() const;  // "conv2 grid_3_4_2: activity drop at step 1234, z -7.2", "… γ burst at …"
};

struct ChannelInfo {
  std::string block, region, channel;
  std::string name() const;  // "loss", "conv1/grad_norm", "conv1/grid_1_1_1"
};

class Recorder {
 public:
  // The channels of `net` cut by `grid`; `window` = W; `short_last_batch`: an epoch's last step
  // (every steps_per_epoch-th) has a smaller batch and is not tested for events (only when
  // steps_per_epoch > 1: a one-step epoch has no other batch to be smaller than).
  // `scheduled_rate` (optional): η(t) of global step t (1-based), the schedule's rate without
  // injected faults; with it the change rule scores update_ratio / η (above).
  Recorder(const nn::Network& net, const run::GridSpec& grid, int window, long steps_per_epoch = 0,
           bool short_last_batch = false, std::function<double(long)> scheduled_rate = {});

  const std::vector<ChannelInfo>& channels() const { return channels_; }
  int window() const { return window_; }
  double band_threshold() const { return band_threshold_; }  // θ_γ of this recorder's C and F
  size_t kept_rows() const { return kept_; }

  // The probe to install in the trainer (forward + gradient norms + update ratios); after_step
  // calls `on_event` for every event of the step.
  nn::StepProbe probe(std::function<void(const Event&)> on_event);

  // Rows of the epoch so far (steps × channels) and its first global step.
  const std::vector<float>& epoch_rows() const { return epoch_rows_; }
  long epoch_first_step() const { return epoch_first_; }
  int epoch() const { return epoch_; }
  // The epoch's analysis (spectra, states, events), as eeg/epoch_NNN.json holds it.
  nlohmann::ordered_json analyse_epoch() const;
  // Starts a new epoch's buffer (after its files are written).
  void start_epoch(int epoch, long first_step);

  // Feeds rows recorded earlier (a resumed run), steps first_step, first_step + 1, ...:
  // everything as if they had just been recorded, without calling on_event; events of steps
  // before `epoch_first` and rows before it are not kept in the epoch's buffer.
  void replay(const std::vector<float>& rows, long first_step, int epoch, long epoch_first);

  // Given an ordinary StepInfo (+ the accumulated region sums), appends a row; public for tests.
  void record(const nn::StepInfo& info, const std::function<void(const Event&)>& on_event);
  // Adds block `index`'s |a| to the step's sums (what the forward probe does).  `unit_sums`: null, or
  // the forward's nn::BlockView::unit_sums of a (Σ_i |a_ie| per unit, the first pass's own sums in
  // its own order), which then replace the first pass's read of a.
  void accumulate(int block, const nn::Tensor& a, const float* unit_sums = nullptr);

 private:
  void push_row(const std::vector<float>& row, long step, int epoch, const std::function<void(const Event&)>* on_event);
  void refresh_baseline(long step);
  bool short_step(long step) const;
  const std::vector<float>* reference_row(long step) const;
  long reference_step(long step) const;  // the step of reference_row(step)
  // The level the change rule scores: |x|, or |x|/η(step) for a rate-scaled channel (NaN when η ≤ 0).
  double level(const std::vector<float>& row, long step, size_t ch) const;
  double change(const std::vector<float>& now, long now_step, const std::vector<float>& before, long before_step,
                size_t ch) const;
  void score_bands(long step, int epoch, bool in_epoch, const std::function<void(const Event&)>* on_event);
  void refresh_band_baseline(long step);

  int window_;
  long steps_per_epoch_;
  bool short_last_batch_;
  size_t kept_;
  std::vector<ChannelInfo> channels_;
  std::vector<run::RegionGrid> grids_;       // per block
  std::vector<size_t> block_first_column_;   // column of the block's grad_norm
  std::vector<long> activity_column_;        // per channel: its block's activity column (regions), else −1
  std::vector<std::vector<double>> sums_;    // per block, per region: Σ|a| of the step
  std::vector<std::vector<int>> column_cuts_;  // per block: the first column of each column region, then W
  std::vector<std::vector<int>> region_units_;  // per block, per region: |N_g|
  std::vector<float> unit_sums_;              // accumulate's Σ_i |a_i| per unit of a sample (reused)
  std::vector<double> block_sums_;
  std::vector<long> block_units_;            // per block: units per sample
  std::vector<int> batch_;                   // per block: samples seen this step
  std::deque<std::vector<float>> ring_;      // the last kept_ rows
  long ring_last_step_ = 0;                  // global step of ring_.back()
  std::function<double(long)> scheduled_rate_;
  std::vector<char> rate_scaled_;            // per channel: scored as |x|/η (update_ratio with a schedule)
  std::vector<double> base_median_, base_scale_, offset_;  // per channel; valid when base_step_ > 0
  std::vector<double> change_offset_;        // ε of the change rule's level (offset_ unless rate-scaled)
  long base_step_ = 0;
  std::vector<double> previous_z_;           // z of the last row (NaN: undefined)
  struct Pending {                           // an onset waiting for the next tested step
    long step = 0;                           // 0: none
    double z = 0, level_before = 0;          // its z; the level (|x| or |x|/η) of the row its change was taken from
    double level_before2 = 0;                // the level of the row before that one (NaN: none)
  };
  std::vector<Pending> pending_;
  Welch band_welch_{kBandSegment};
  std::deque<std::vector<double>> gamma_ring_;  // g_c of the last H + S + R steps (NaN: undefined)
  std::vector<double> band_median_, band_scale_, previous_band_z_;  // per channel; valid when band_step_ > 0
  long band_step_ = 0;
  double band_threshold_ = kThreshold;
  std::vector<float> epoch_rows_;
  std::vector<Event> epoch_events_;
  long epoch_first_ = 1;
  int epoch_ = 1;
};

}  // namespace imaging::eeg
