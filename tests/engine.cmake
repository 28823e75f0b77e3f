# Engine tests: XNNPACK logits vs the independent reference model, classify paths, model-file
# refusals. Built natively and for wasm from the same sources.
folia_add_catch_test(folia_test_engine
  test-engine.cpp
  reference-model.cpp
  LIBS folia folia_model_file folia_preprocess folia_system_headers)
