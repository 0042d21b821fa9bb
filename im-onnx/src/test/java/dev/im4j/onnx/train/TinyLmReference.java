package dev.im4j.onnx.train;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.loss.ReferenceLoss;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.AdamWReference;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain-Java twin of {@link TinyCausalLm} training: forward, {@link ReferenceLoss} gradient,
 * hand-written backward, and ONNX Runtime's AdamW (either variant, {@link AdamWReference#update})
 * in float arithmetic.
 */
final class TinyLmReference {
  final int vocab;
  final int hidden;
  final boolean tied;
  final Map<String, float[]> params = new HashMap<>();
  final Map<String, float[]> grads = new HashMap<>();
  final Map<String, float[]> m = new HashMap<>();
  final Map<String, float[]> v = new HashMap<>();
  long step;

  TinyLmReference(TinyCausalLm model) {
    this.vocab = model.vocabSize();
    this.hidden = model.hiddenSize();
    this.tied = model.tied();
    for (Tensor t : model.initialWeights()) {
      params.put(t.name(), t.toArray());
      grads.put(t.name(), new float[t.numel()]);
      m.put(t.name(), new float[t.numel()]);
      v.put(t.name(), new float[t.numel()]);
    }
  }

  private float[] head() {
    return params.get(tied ? TinyCausalLm.EMBED : TinyCausalLm.LM_HEAD);
  }

  /**
   * Logits [cells, V] of the batch, with noise [cells, H] added to the embeddings (may be null).
   */
  float[] logits(Batch batch, float[] noise) {
    int cells = batch.cells();
    float[] out = new float[cells * vocab];
    float[] h = new float[hidden];
    for (int n = 0; n < cells; n++) {
      hidden(batch.inputIdAt(n), noise, n, new float[hidden], h);
      float[] l = head();
      for (int o = 0; o < vocab; o++) {
        double s = 0;
        for (int j = 0; j < hidden; j++) {
          s += h[j] * l[o * hidden + j];
        }
        out[n * vocab + o] = (float) s;
      }
    }
    return out;
  }

  /** Fills x (embedding + noise) and h; returns tanh(a). */
  private float[] hidden(int id, float[] noise, int n, float[] x, float[] h) {
    float[] e = params.get(TinyCausalLm.EMBED);
    float[] w = params.get(TinyCausalLm.MLP);
    for (int k = 0; k < hidden; k++) {
      x[k] = e[id * hidden + k] + (noise == null ? 0f : noise[n * hidden + k]);
    }
    float[] th = new float[hidden];
    for (int j = 0; j < hidden; j++) {
      double a = 0;
      for (int k = 0; k < hidden; k++) {
        a += x[k] * w[j * hidden + k];
      }
      th[j] = (float) Math.tanh(a);
      h[j] = x[j] + th[j];
    }
    return th;
  }

  /** Adds the gradient of Σ c · nll over the batch; returns the loss. */
  double accumulate(Batch batch, float[] coefficients, float[] noise) {
    float[] logits = logits(batch, noise);
    ReferenceLoss.Result r = ReferenceLoss.compute(batch, coefficients, logits, vocab);
    float[] gl = r.gradient(); // [cells, V]
    float[] e = params.get(TinyCausalLm.EMBED);
    float[] w = params.get(TinyCausalLm.MLP);
    float[] l = head();
    float[] dE = grads.get(TinyCausalLm.EMBED);
    float[] dW = grads.get(TinyCausalLm.MLP);
    float[] dL = grads.get(tied ? TinyCausalLm.EMBED : TinyCausalLm.LM_HEAD);
    float[] x = new float[hidden];
    float[] h = new float[hidden];
    for (int n = 0; n < batch.cells(); n++) {
      int id = batch.inputIdAt(n);
      float[] th = hidden(id, noise, n, x, h);
      double[] dh = new double[hidden];
      for (int o = 0; o < vocab; o++) {
        float g = gl[n * vocab + o];
        if (g == 0) {
          continue;
        }
        for (int j = 0; j < hidden; j++) {
          dh[j] += g * l[o * hidden + j];
          dL[o * hidden + j] += g * h[j];
        }
      }
      double[] dx = dh.clone();
      for (int j = 0; j < hidden; j++) {
        double da = dh[j] * (1 - th[j] * th[j]);
        for (int k = 0; k < hidden; k++) {
          dW[j * hidden + k] += (float) (da * x[k]);
          dx[k] += da * w[j * hidden + k];
        }
      }
      for (int k = 0; k < hidden; k++) {
        dE[id * hidden + k] += (float) dx[k];
      }
    }
    return r.loss();
  }

  /** AdamW ({@code a}'s variant) on the accumulated gradients, then clears them. */
  void optimizerStep(AdamWConfig a, float lr) {
    optimizerStep(a, lr, 0);
  }

  /** Clips the global gradient norm to {@code maxNorm} first (0: no clipping), as ORT does. */
  void optimizerStep(AdamWConfig a, float lr, float maxNorm) {
    if (maxNorm > 0) {
      double sq = 0;
      for (float[] g : grads.values()) {
        for (float x : g) {
          sq += (double) x * x;
        }
      }
      float coefficient = Math.min(maxNorm / ((float) Math.sqrt(sq) + 1e-6f), 1f);
      for (float[] g : grads.values()) {
        for (int i = 0; i < g.length; i++) {
          g[i] *= coefficient;
        }
      }
    }
    step++;
    for (String name : List.copyOf(params.keySet())) {
      float[] g = grads.get(name);
      AdamWReference.update(a, lr, step, params.get(name), g, m.get(name), v.get(name));
      java.util.Arrays.fill(g, 0f);
    }
  }
}
