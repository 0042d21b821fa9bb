/**
 * im4j's backend-agnostic core: dataset readers, chat templates with character provenance,
 * tokenizers, masks by loss policy, collation and the loss reductions.
 *
 * <p>Exports the API packages only; {@code dev.im4j.core.internal} (array sharing and fills between
 * im-core's own packages) is not exported.
 */
@SuppressWarnings("requires-automatic") // DJL's tokenizers jar has no module-info.java (note below)
module dev.im4j.core {
  requires com.google.common;
  requires com.fasterxml.jackson.core;
  requires com.fasterxml.jackson.databind;
  // DJL's Hugging Face tokenizers: an automatic module, named by its Automatic-Module-Name.
  requires ai.djl.tokenizers;

  exports dev.im4j.core.collate;
  exports dev.im4j.core.data;
  exports dev.im4j.core.loss;
  exports dev.im4j.core.mask;
  exports dev.im4j.core.stats;
  exports dev.im4j.core.template;
  exports dev.im4j.core.template.jinja;
  exports dev.im4j.core.tokenizer;
}
