package dev.im4j.onnx.train.checkpoint;

/**
 * Facts of ONNX Runtime's checkpoint schema ({@code ort_training_checkpoint.fbs} and the {@code
 * Tensor} table of {@code ort.fbs}, namespace {@code onnxruntime.fbs}): the file identifier and,
 * per table, the field count and each field's slot (its declaration index).
 */
final class CheckpointSchema {
  private CheckpointSchema() {}

  static final String FILE_IDENTIFIER = "ODTC";

  /** {@code table Checkpoint {version:int32; module_state; optimizer_groups; property_bag}}. */
  static final int CHECKPOINT_FIELDS = 4;

  static final int CHECKPOINT_VERSION = 0;
  static final int CHECKPOINT_MODULE_STATE = 1;
  static final int CHECKPOINT_OPTIMIZER_GROUPS = 2;
  static final int CHECKPOINT_PROPERTY_BAG = 3;

  /**
   * {@code table ModuleState {requires_grad_params:[Tensor]; frozen_params:[Tensor];
   * is_nominal_state:bool; has_external_data:bool}}.
   */
  static final int MODULE_STATE_FIELDS = 4;

  static final int MODULE_STATE_REQUIRES_GRAD = 0;
  static final int MODULE_STATE_FROZEN = 1;
  static final int MODULE_STATE_IS_NOMINAL = 2;
  static final int MODULE_STATE_HAS_EXTERNAL_DATA = 3;

  /** {@code table ParameterOptimizerState {param_name:string; momentums:[Tensor]}}. */
  static final int PARAM_STATE_FIELDS = 2;

  static final int PARAM_STATE_NAME = 0;
  static final int PARAM_STATE_MOMENTUMS = 1;

  /**
   * {@code table OptimizerGroup {group_name:string; step:int64; initial_learning_rate:float;
   * optimizer_states:[ParameterOptimizerState]}}.
   */
  static final int GROUP_FIELDS = 4;

  static final int GROUP_NAME = 0;
  static final int GROUP_STEP = 1;
  static final int GROUP_INITIAL_LR = 2;
  static final int GROUP_STATES = 3;

  /** {@code IntProperty}, {@code FloatProperty}, {@code StringProperty}: {@code {name; value}}. */
  static final int PROPERTY_FIELDS = 2;

  static final int PROPERTY_NAME = 0;
  static final int PROPERTY_VALUE = 1;

  /** {@code table PropertyBag {ints; floats; strings}}. */
  static final int BAG_FIELDS = 3;

  static final int BAG_INTS = 0;
  static final int BAG_FLOATS = 1;
  static final int BAG_STRINGS = 2;

  /**
   * {@code table Tensor {name:string; doc_string:string; dims:[int64]; data_type:TensorDataType;
   * raw_data:[uint8]; string_data:[string]; external_data_offset:int64 = -1}}.
   */
  static final int TENSOR_FIELDS = 7;

  static final int TENSOR_NAME = 0;
  static final int TENSOR_DIMS = 2;
  static final int TENSOR_DATA_TYPE = 3;
  static final int TENSOR_RAW_DATA = 4;
  static final int TENSOR_EXTERNAL_DATA_OFFSET = 6;

  /** {@code TensorDataType.FLOAT}. */
  static final int DATA_TYPE_FLOAT = 1;
}
