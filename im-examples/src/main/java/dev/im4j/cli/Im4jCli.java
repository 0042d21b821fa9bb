package dev.im4j.cli;

import dev.im4j.core.data.DatasetException;
import dev.im4j.core.mask.MaskException;
import dev.im4j.core.template.TemplateException;
import dev.im4j.core.tokenizer.TokenizerException;
import dev.im4j.onnx.model.ModelConfigException;
import dev.im4j.onnx.model.SafetensorsException;
import dev.im4j.onnx.train.TrainingDataException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code im4j} command-line tool.
 *
 * <p>Exit codes: {@value #OK} success, {@value #USAGE} bad arguments, {@value #BAD_DATA} bad input
 * data (the message names file, line and field), {@value #FAILURE} any other failure.
 */
@Command(
    name = "im4j",
    mixinStandardHelpOptions = true,
    versionProvider = Im4jCli.Version.class,
    description = "Instruction Modelling (loss over instructions) for causal language models.",
    subcommands = {
      DemoCommand.class,
      StatsCommand.class,
      PrepareCommand.class,
      TrainCommand.class,
      EvalCommand.class,
      GenerateCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "2:bad arguments",
      "3:bad data or model files (file, line and field named)",
      "4:other failure"
    })
public final class Im4jCli implements Runnable {
  static final int OK = 0;
  static final int USAGE = 2;
  static final int BAD_DATA = 3;
  static final int FAILURE = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
  }

  /** Builds the command line with im4j's exit codes and error printing. */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Im4jCli());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExitCodeExceptionMapper(Im4jCli::exitCode);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          PrintWriter err = commandLine.getErr();
          err.println("im4j " + commandLine.getCommandName() + ": " + message(e));
          err.flush();
          return exitCode(e);
        });
    return cli;
  }

  /**
   * Runs the command line; an error that escapes the command (the JVM out of memory, a native
   * failure) is reported in one line with exit code {@value #FAILURE}, never as a stack trace.
   */
  static int execute(CommandLine cli, String... args) {
    try {
      return cli.execute(args);
    } catch (OutOfMemoryError e) {
      PrintWriter err = cli.getErr();
      err.println(
          "im4j: out of memory ("
              + e.getMessage()
              + "); the JVM may use "
              + Runtime.getRuntime().maxMemory() / (1L << 20)
              + " MiB of heap. Start java with a larger -Xmx, or use a smaller model, --batch-size"
              + " or --max-length");
      err.flush();
      return FAILURE;
    } catch (RuntimeException | Error e) {
      PrintWriter err = cli.getErr();
      err.println("im4j: " + message(e));
      err.flush();
      return FAILURE;
    }
  }

  private static String message(Throwable e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  private static int exitCode(Throwable e) {
    if (e instanceof CommandLine.ParameterException || e instanceof IllegalArgumentException) {
      return USAGE;
    }
    if (e instanceof DatasetException
        || e instanceof MaskException
        || e instanceof TemplateException
        || e instanceof TokenizerException
        || e instanceof ModelConfigException
        || e instanceof SafetensorsException
        || e instanceof TrainingDataException) {
      return BAD_DATA;
    }
    return FAILURE;
  }

  public static void main(String[] args) {
    System.exit(execute(commandLine(), args));
  }

  /** The version from the jar manifest, or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Im4jCli.class.getPackage().getImplementationVersion();
      return new String[] {"im4j " + (v == null ? "dev" : v)};
    }
  }
}
