package dev.im4j.onnx.train.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Bounds-checked reading of flatbuffer tables: every offset is checked against the buffer before it
 * is followed, so a truncated or corrupt file fails with a {@link CheckpointException} naming the
 * file and byte position instead of reading garbage. (The flatbuffers Java runtime has no
 * verifier.)
 *
 * <p>Layout facts used: little-endian; a table starts with an int32 soffset back to its vtable; a
 * vtable is uint16 vtable size, uint16 table size, then one uint16 field offset per slot (0 =
 * absent); reference fields hold a uint32 offset relative to the field; vectors and strings start
 * with a uint32 element count.
 */
final class FlatView {
  private final ByteBuffer bytes;
  private final Path file;
  private java.nio.channels.FileChannel externalData; // the checkpoint's .data file, if it has one
  private Path externalPath;
  private long externalSize;

  FlatView(ByteBuffer bytes, Path file) {
    this.bytes = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    this.file = file;
  }

  int size() {
    return bytes.limit();
  }

  /** The checkpoint file these bytes are the contents of. */
  Path file() {
    return file;
  }

  /** Opens the external data file that {@code ModuleState.has_external_data} announces. */
  void openExternalData(Path data) {
    try {
      externalData =
          java.nio.channels.FileChannel.open(data, java.nio.file.StandardOpenOption.READ);
      externalPath = data;
      externalSize = externalData.size();
    } catch (java.io.IOException e) {
      throw error(
          "keeps its tensors in the external data file "
              + data
              + ", which cannot be read: "
              + e
              + (java.nio.file.Files.exists(data) ? "" : " (no such file)"),
          e);
    }
  }

  void closeExternalData() {
    if (externalData != null) {
      try {
        externalData.close();
      } catch (java.io.IOException ignored) {
        // read-only channel: nothing is lost if closing fails
      }
      externalData = null;
    }
  }

  /** Fails unless {@code [offset, offset + length)} lies inside the open external data file. */
  void checkExternalRange(String what, long offset, long length) {
    if (externalData == null) {
      throw error(
          what
              + " has an external_data_offset but ModuleState.has_external_data is not set (no"
              + " data file to read it from)");
    }
    if (offset < 0 || offset % Float.BYTES != 0 || offset > externalSize - length) {
      throw error(
          what
              + " lies at ["
              + offset
              + ", "
              + (offset + length)
              + ") of "
              + externalPath
              + ", which holds "
              + externalSize
              + " bytes (the offset must be 4-byte aligned and the range inside the file)");
    }
  }

  /** {@code length} bytes of the external data file at {@code offset}, little-endian. */
  ByteBuffer readExternal(long offset, int length) {
    ByteBuffer out = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    try {
      while (out.hasRemaining()) {
        if (externalData.read(out, offset + out.position()) < 0) {
          throw error(externalPath + " ends before byte " + (offset + length));
        }
      }
    } catch (java.io.IOException e) {
      throw error("cannot read " + externalPath + ": " + e, e);
    }
    return out.flip();
  }

  CheckpointException error(String message) {
    return new CheckpointException(file, message);
  }

  CheckpointException error(String message, Throwable cause) {
    return new CheckpointException(file, message, cause);
  }

  private void need(long position, long length, String what) {
    if (position < 0 || length < 0 || position + length > bytes.limit()) {
      throw error(
          what
              + " at byte "
              + position
              + " (+"
              + length
              + ") lies outside the file of "
              + bytes.limit()
              + " bytes; the file is truncated or corrupt");
    }
  }

  int int32(long position, String what) {
    need(position, 4, what);
    return bytes.getInt((int) position);
  }

  long uint32(long position, String what) {
    return Integer.toUnsignedLong(int32(position, what));
  }

  /** The root table's position. */
  int root() {
    return (int) checkedTarget(0, "root table offset");
  }

  private long checkedTarget(long position, String what) {
    long target = position + uint32(position, what);
    need(target, 4, what + " target");
    return target;
  }

  /** Absolute position of a field of the table at {@code table}, or -1 if absent. */
  int field(int table, int slot, String what) {
    long vtable = (long) table - int32(table, what + " vtable offset");
    need(vtable, 4, what + " vtable");
    int vtableSize = Short.toUnsignedInt(bytes.getShort((int) vtable));
    int tableSize = Short.toUnsignedInt(bytes.getShort((int) vtable + 2));
    if (vtableSize < 4 || (vtableSize & 1) != 0) {
      throw error(what + ": vtable at byte " + vtable + " has invalid size " + vtableSize);
    }
    need(vtable, vtableSize, what + " vtable");
    need(table, tableSize, what + " table");
    int entry = 4 + 2 * slot;
    if (entry + 2 > vtableSize) {
      return -1;
    }
    int offset = Short.toUnsignedInt(bytes.getShort((int) vtable + entry));
    if (offset == 0) {
      return -1;
    }
    if (offset >= tableSize) {
      throw error(what + ": field " + slot + " offset " + offset + " exceeds its table");
    }
    return table + offset;
  }

  int intField(int table, int slot, int defaultValue, String what) {
    int at = field(table, slot, what);
    return at < 0 ? defaultValue : int32(at, what);
  }

  long longField(int table, int slot, long defaultValue, String what) {
    int at = field(table, slot, what);
    if (at < 0) {
      return defaultValue;
    }
    need(at, 8, what);
    return bytes.getLong(at);
  }

  float floatField(int table, int slot, float defaultValue, String what) {
    int at = field(table, slot, what);
    if (at < 0) {
      return defaultValue;
    }
    need(at, 4, what);
    return bytes.getFloat(at);
  }

  boolean boolField(int table, int slot, String what) {
    int at = field(table, slot, what);
    if (at < 0) {
      return false;
    }
    need(at, 1, what);
    return bytes.get(at) != 0;
  }

  /** Position of the table or vector a reference field points to, or -1 if absent. */
  int reference(int table, int slot, String what) {
    int at = field(table, slot, what);
    return at < 0 ? -1 : (int) checkedTarget(at, what);
  }

  /** Element count of the vector at {@code vector}, checked to fit {@code elementSize} each. */
  int vectorLength(int vector, int elementSize, String what) {
    long length = uint32(vector, what + " length");
    need(vector + 4L, length * elementSize, what);
    return (int) length;
  }

  /** Position of table element {@code i} of the vector of tables at {@code vector}. */
  int tableAt(int vector, int i, String what) {
    return (int) checkedTarget(vector + 4L + 4L * i, what);
  }

  /** The string a field points to, or null if absent. */
  String string(int table, int slot, String what) {
    int at = reference(table, slot, what);
    if (at < 0) {
      return null;
    }
    int length = vectorLength(at, 1, what);
    ByteBuffer utf8 = bytes.slice(at + 4, length);
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(utf8)
          .toString();
    } catch (CharacterCodingException e) {
      throw error(what + " at byte " + at + " is not valid UTF-8", e);
    }
  }

  long longAt(long position) {
    return bytes.getLong((int) position);
  }

  /** A little-endian view of {@code length} bytes at {@code position} (already checked). */
  ByteBuffer slice(int position, int length) {
    return bytes.slice(position, length).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The 4-byte file identifier after the root offset. */
  String fileIdentifier() {
    need(4, 4, "file identifier");
    byte[] id = new byte[4];
    bytes.get(4, id);
    return new String(id, StandardCharsets.ISO_8859_1);
  }
}
