package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DimTest {

  @Test
  void productsOfSymbolsGetOneNameWhateverTheOrderOfTheirFactors() {
    Dim batch = Dim.sym("batch");
    Dim seq = Dim.sym("seq");
    assertEquals(Dim.sym("batch*seq"), Dim.product(List.of(batch, seq)));
    assertEquals(Dim.sym("batch*seq"), Dim.product(List.of(seq, batch)));
    assertEquals(Dim.sym("576*batch*seq"), Dim.product(List.of(seq, Dim.of(576), batch)));
    assertEquals(Dim.sym("576*batch*seq"), Dim.product(List.of(Dim.of(576), Dim.sym("seq*batch"))));
    assertEquals(Dim.sym("6*batch*seq"), Dim.product(List.of(Dim.sym("3*batch*seq"), Dim.of(2))));
    assertEquals(batch, Dim.product(List.of(batch)));
    assertEquals(Dim.of(12), Dim.product(List.of(Dim.of(3), Dim.of(4))));
    assertEquals(Dim.of(1), Dim.product(List.of()));
    assertEquals(Dim.of(0), Dim.product(List.of(Dim.of(0), seq)));
    assertEquals(Dim.unknown(), Dim.product(List.of(batch, Dim.unknown())));
    assertEquals(Dim.unknown(), Dim.product(List.of(batch, Dim.sym("12"))));
  }

  @Test
  void divisionKeepsTheSymbolsAndNeedsADivisibleStaticFactor() {
    assertEquals(Dim.sym("batch*seq"), Dim.sym("576*batch*seq").dividedBy(576));
    assertEquals(Dim.sym("9*batch*seq"), Dim.sym("576*seq*batch").dividedBy(64));
    assertEquals(Dim.unknown(), Dim.sym("576*batch*seq").dividedBy(7));
    assertEquals(Dim.unknown(), Dim.sym("batch").dividedBy(2));
    assertEquals(Dim.sym("batch"), Dim.sym("batch").dividedBy(1));
    assertEquals(Dim.of(3), Dim.of(12).dividedBy(4));
    assertEquals(Dim.unknown(), Dim.of(12).dividedBy(5));
    assertEquals(Dim.unknown(), Dim.of(12).dividedBy(0));
    assertEquals(Dim.unknown(), Dim.unknown().dividedBy(1));
    assertEquals(Dim.unknown(), Dim.sym("12").dividedBy(2));
  }
}
