package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.im4j.onnx.graph.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Any valid config survives toJson then parse unchanged, and its parameters validate. */
class CausalLmConfigProperties {

  static CausalLmConfig randomConfig(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    ModelType type = ModelType.values()[r.nextInt(ModelType.values().length)];
    int kvHeads = 1 + r.nextInt(3);
    int heads = kvHeads * (1 + r.nextInt(3));
    int headDim = 2 * (1 + r.nextInt(4));
    int hidden = type == ModelType.GPT2 || r.nextBoolean() ? heads * headDim : 4 + r.nextInt(20);
    int vocab = 5 + r.nextInt(50);
    List<List<Integer>> ids = new ArrayList<>();
    for (int k = 0; k < 3; k++) {
      List<Integer> list = new ArrayList<>();
      int n = r.nextInt(3);
      for (int i = 0; i < n; i++) {
        list.add(r.nextInt(vocab));
      }
      ids.add(list);
    }
    Optional<String> dtype =
        r.nextBoolean()
            ? Optional.empty()
            : Optional.of(List.of("float32", "float16", "bfloat16").get(r.nextInt(3)));
    String extra = r.nextBoolean() ? "{}" : "{\"use_cache\":true,\"zeta\":[1,{\"b\":null}]}";
    if (type == ModelType.GPT2) {
      return new CausalLmConfig(
          type,
          vocab,
          hidden,
          1 + r.nextInt(64),
          1 + r.nextInt(3),
          heads,
          heads,
          hidden / heads,
          1 + r.nextInt(64),
          r.nextBoolean() ? 1e-5 : 1e-6,
          0,
          Optional.empty(),
          r.nextBoolean(),
          false,
          OptionalInt.empty(),
          r.nextBoolean() ? Activation.GELU_NEW : Activation.GELU_PYTORCH_TANH,
          ids.get(0),
          ids.get(1),
          ids.get(2),
          dtype,
          0.02,
          extra);
    }
    Optional<RopeScaling> scaling =
        r.nextBoolean() ? Optional.empty() : Optional.of(new RopeScaling(8, 1, 4, 8192));
    return new CausalLmConfig(
        type,
        vocab,
        hidden,
        1 + r.nextInt(64),
        1 + r.nextInt(3),
        heads,
        kvHeads,
        headDim,
        1 + r.nextInt(64),
        1e-6,
        r.nextBoolean() ? 10000.0 : 500000.0,
        scaling,
        r.nextBoolean(),
        type == ModelType.LLAMA && r.nextBoolean(),
        type == ModelType.MISTRAL && r.nextBoolean()
            ? OptionalInt.of(1 + r.nextInt(100))
            : OptionalInt.empty(),
        Activation.SILU,
        ids.get(0),
        ids.get(1),
        ids.get(2),
        dtype,
        r.nextBoolean() ? 0.02 : 0.01,
        extra);
  }

  @Property(tries = 200)
  void toJsonThenParseIsIdentity(@ForAll long seed) {
    CausalLmConfig c = randomConfig(seed);
    assertEquals(c, CausalLmConfig.parse(c.toJson(), "config.json"));
  }

  @Property(tries = 50)
  void initializedWeightsValidate(@ForAll long seed) {
    CausalLmConfig c = randomConfig(seed);
    Weights w = CausalLmParameters.initialize(c, seed, DType.FLOAT);
    assertEquals(w, CausalLmParameters.validate(c, w, "init"));
  }
}
