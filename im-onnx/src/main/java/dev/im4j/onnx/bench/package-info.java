/**
 * Graph-construction benchmarks, runnable as plain mains (wired into {@code benchmarks/} later).
 */
package dev.im4j.onnx.bench;
