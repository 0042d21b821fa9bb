package dev.im4j.cli;

/** Entry point of the {@code im4j} command-line tool. */
public final class Im4jCli {
  private Im4jCli() {}

  public static void main(String[] args) {
    System.out.println("im4j");
  }
}
