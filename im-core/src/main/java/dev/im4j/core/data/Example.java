package dev.im4j.core.data;

/**
 * The unit of training data, as a {@link DatasetReader} yields it: a {@link Conversation} (an
 * instruction dataset's row, rendered by a chat template and masked by a loss policy) or a {@link
 * PlainText} (a language-modelling row, trained on every token).
 */
public sealed interface Example permits Conversation, PlainText {}
