package dev.im4j.core.tokenizer;

import static com.google.common.base.Preconditions.checkState;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Hugging Face tokenizer ({@code tokenizer.json}) run by the Rust {@code tokenizers} library
 * through DJL, with special tokens from {@code tokenizer_config.json}.
 *
 * <p>No truncation and no padding are ever applied here (DJL would otherwise truncate to {@code
 * model_max_length}); length limits belong to the collator. Offsets returned by the native library
 * count Unicode code points; they are converted to UTF-16 indexes.
 *
 * <p>Thread-safe; {@link #close()} is idempotent.
 */
public final class HfTokenizer implements Tokenizer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer native_;
  private final SpecialTokens specialTokens;
  private final BitSet specialIds;
  private final int vocabSize;
  private final AtomicBoolean closed = new AtomicBoolean();

  private HfTokenizer(
      HuggingFaceTokenizer nativeTokenizer,
      SpecialTokens specialTokens,
      BitSet specialIds,
      int vocabSize) {
    this.native_ = nativeTokenizer;
    this.specialTokens = specialTokens;
    this.specialIds = specialIds;
    this.vocabSize = vocabSize;
  }

  /**
   * Loads {@code dir/tokenizer.json} and, if present, {@code dir/tokenizer_config.json}.
   *
   * @throws TokenizerException if a file is missing or malformed, naming the file and field
   */
  public static HfTokenizer load(Path dir) {
    Path tokenizerJson = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new TokenizerException(
          tokenizerJson + ": not found; a tokenizer directory must contain tokenizer.json");
    }
    Vocabulary vocabulary = Vocabulary.read(tokenizerJson);
    Path configJson = dir.resolve("tokenizer_config.json");
    SpecialTokens special =
        Files.isRegularFile(configJson)
            ? readSpecialTokens(configJson, vocabulary.idsByContent())
            : SpecialTokens.none();
    HuggingFaceTokenizer nativeTokenizer;
    try {
      nativeTokenizer =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(tokenizerJson)
              .optAddSpecialTokens(true)
              .optTruncation(false)
              .optPadding(false)
              .build();
    } catch (IOException | RuntimeException e) {
      throw new TokenizerException(tokenizerJson + ": cannot be loaded: " + e.getMessage(), e);
    }
    return new HfTokenizer(nativeTokenizer, special, vocabulary.specialIds(), vocabulary.size());
  }

  @Override
  public Encoding encode(String text, boolean addSpecialTokens) {
    checkState(!closed.get(), "tokenizer is closed");
    ai.djl.huggingface.tokenizers.Encoding encoding = native_.encode(text, addSpecialTokens, false);
    long[] longIds = encoding.getIds();
    CharSpan[] spans = encoding.getCharTokenSpans();
    int n = longIds.length;
    int[] ids = new int[n];
    int[] starts = new int[n];
    int[] ends = new int[n];
    int[] utf16 = codePointToUtf16(text);
    for (int i = 0; i < n; i++) {
      ids[i] = Math.toIntExact(longIds[i]);
      CharSpan span = spans[i];
      if (span == null) {
        // Added by the post-processor (BOS): no characters in the text. Anchor it where it stands.
        int at = i == 0 ? 0 : ends[i - 1];
        starts[i] = at;
        ends[i] = at;
      } else {
        starts[i] = toUtf16(utf16, span.getStart());
        ends[i] = toUtf16(utf16, span.getEnd());
      }
    }
    return Encoding.adopt(ids, starts, ends);
  }

  /** Maps code point index to UTF-16 index, or returns null when they coincide (no surrogates). */
  private static int[] codePointToUtf16(String text) {
    int length = text.length();
    int codePoints = text.codePointCount(0, length);
    if (codePoints == length) {
      return null;
    }
    int[] map = new int[codePoints + 1];
    int cp = 0;
    for (int i = 0; i < length; i += Character.charCount(text.codePointAt(i))) {
      map[cp++] = i;
    }
    map[codePoints] = length;
    return map;
  }

  private static int toUtf16(int[] map, int codePointIndex) {
    return map == null ? codePointIndex : map[codePointIndex];
  }

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    checkState(!closed.get(), "tokenizer is closed");
    long[] longIds = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longIds[i] = ids[i];
    }
    return native_.decode(longIds, skipSpecialTokens);
  }

  @Override
  public SpecialTokens specialTokens() {
    return specialTokens;
  }

  @Override
  public boolean isSpecial(int id) {
    return specialIds.get(id);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      native_.close();
    }
  }

  private static SpecialTokens readSpecialTokens(Path configJson, Map<String, Integer> ids) {
    JsonNode config;
    try {
      config = JSON.readTree(configJson.toFile());
    } catch (IOException e) {
      throw new TokenizerException(configJson + ": not valid JSON: " + e.getMessage(), e);
    }
    if (config == null || !config.isObject()) {
      throw new TokenizerException(configJson + ": expected a JSON object at the top level");
    }
    Optional<String> bos = tokenText(configJson, config, "bos_token");
    Optional<String> eos = tokenText(configJson, config, "eos_token");
    Optional<String> pad = tokenText(configJson, config, "pad_token");
    return new SpecialTokens(
        bos,
        idOf(configJson, "bos_token", bos, ids),
        eos,
        idOf(configJson, "eos_token", eos, ids),
        pad,
        idOf(configJson, "pad_token", pad, ids));
  }

  /** A token field is a string, an object with "content", or null/absent. */
  static Optional<String> tokenText(Path file, JsonNode config, String field) {
    JsonNode node = config.get(field);
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (node.isTextual()) {
      return Optional.of(node.asText());
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return Optional.of(node.get("content").asText());
    }
    throw new TokenizerException(
        file
            + ": field \""
            + field
            + "\" must be a string, an object with a string \"content\", or null, but was "
            + node);
  }

  private static OptionalInt idOf(
      Path file, String field, Optional<String> text, Map<String, Integer> ids) {
    if (text.isEmpty()) {
      return OptionalInt.empty();
    }
    Integer id = ids.get(text.get());
    if (id == null) {
      throw new TokenizerException(
          file
              + ": field \""
              + field
              + "\" names token \""
              + text.get()
              + "\", which is not in tokenizer.json (neither an added token nor in the model's"
              + " vocabulary)");
    }
    return OptionalInt.of(id);
  }

  /** What im4j needs from tokenizer.json besides the native tokenizer: special ids, size. */
  private record Vocabulary(BitSet specialIds, Map<String, Integer> idsByContent, int size) {

    /** Streams tokenizer.json (it can be tens of MB) without building a tree of the model. */
    static Vocabulary read(Path tokenizerJson) {
      BitSet special = new BitSet();
      Map<String, Integer> ids = new HashMap<>();
      int maxId = -1;
      try (InputStream in = Files.newInputStream(tokenizerJson);
          JsonParser parser = new JsonFactory().createParser(in)) {
        expect(parser.nextToken(), JsonToken.START_OBJECT, tokenizerJson, "(top level)");
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String field = parser.currentName();
          JsonToken value = parser.nextToken();
          if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
            while (parser.nextToken() == JsonToken.START_OBJECT) {
              JsonNode token = JSON.readTree(parser);
              if (!token.path("id").canConvertToInt() || !token.path("content").isTextual()) {
                throw new TokenizerException(
                    tokenizerJson
                        + ": an entry of \"added_tokens\" lacks an integer id or content");
              }
              int id = token.get("id").asInt();
              ids.put(token.get("content").asText(), id);
              if (token.path("special").asBoolean(false)) {
                special.set(id);
              }
              maxId = Math.max(maxId, id);
            }
          } else if (field.equals("model") && value == JsonToken.START_OBJECT) {
            maxId = Math.max(maxId, readModelVocabulary(parser, ids, tokenizerJson));
          } else {
            parser.skipChildren();
          }
        }
      } catch (IOException e) {
        throw new TokenizerException(tokenizerJson + ": cannot be read: " + e.getMessage(), e);
      }
      if (maxId < 0) {
        throw new TokenizerException(tokenizerJson + ": no vocabulary found in \"model.vocab\"");
      }
      return new Vocabulary(special, ids, maxId + 1);
    }

    /** Reads model.vocab: an object token -> id (BPE, WordPiece) or a list of [token, score]. */
    private static int readModelVocabulary(JsonParser parser, Map<String, Integer> ids, Path file)
        throws IOException {
      int maxId = -1;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        if (!field.equals("vocab")) {
          parser.skipChildren();
        } else if (value == JsonToken.START_OBJECT) {
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String token = parser.currentName();
            expect(parser.nextToken(), JsonToken.VALUE_NUMBER_INT, file, "model.vocab." + token);
            int id = parser.getIntValue();
            ids.putIfAbsent(token, id);
            maxId = Math.max(maxId, id);
          }
        } else if (value == JsonToken.START_ARRAY) {
          int id = 0;
          while (parser.nextToken() == JsonToken.START_ARRAY) {
            expect(parser.nextToken(), JsonToken.VALUE_STRING, file, "model.vocab[" + id + "]");
            ids.putIfAbsent(parser.getText(), id);
            parser.skipChildren();
            while (parser.nextToken() != JsonToken.END_ARRAY) {
              parser.skipChildren();
            }
            maxId = id++;
          }
        } else {
          parser.skipChildren();
        }
      }
      return maxId;
    }

    private static void expect(JsonToken actual, JsonToken expected, Path file, String field) {
      if (actual != expected) {
        throw new TokenizerException(
            file + ": field \"" + field + "\": expected " + expected + " but found " + actual);
      }
    }
  }
}
