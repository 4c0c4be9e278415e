package io.poolmig.cli;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

/** One {@code poolmig} invocation in-process, with what it printed. */
record CliRun(int exitCode, String out, String err) {

  static CliRun of(Map<String, String> env, String... args) {
    return withInput(InputStream.nullInputStream(), env, args);
  }

  /** One invocation whose standard input is {@code in}. */
  static CliRun withInput(InputStream in, Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Poolmig.run(args, env, in, new PrintWriter(out, true),
        new PrintWriter(err, true));
    return new CliRun(code, out.toString(), err.toString());
  }

  @Override
  public String toString() {
    return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
  }
}
