"""Error messages, coded so that they can be searched for.

Each message starts with its code in brackets, as spaCy's do, except those that point at a
line of a file: they start with `FILE:LINE: ` (as compilers and linters print them, so
that editors and terminals can jump there), then the code. A code is raised with the
exception class users catch for it (mostly ValueError, or FileNotFoundError for a
missing file); `tests/test_errors.py` checks that every code is unique and raised, and
that no raise in the package writes its message on the spot (typer's BadParameter, for
bad command-line options, aside).
"""

from typing import Any, Iterable


def listed(items: Iterable[Any], n: int = 5) -> str:
    """The first n of items, comma-separated, with ", ..." if there are more (for
    messages that name labels or files)."""
    shown = list(items)
    return ", ".join(str(item) for item in shown[:n]) + (", ..." if len(shown) > n else "")


class Errors:
    E001 = "[E001] Component '{name}' got no training examples to initialize from."
    E002 = "[E002] Component '{name}' needs `nlp` to read its `corpus` at initialize."
    E003 = (
        "[E003] Unknown target {target!r} for component '{name}'. Expected 'tag', 'pos', "
        "'ents', 'spans:KEY' or 'ext:NAME'."
    )
    E004 = (
        "[E004] Label {label!r} of token {i} ({text!r}) in doc {doc!r} is not among the "
        "labels of component '{name}' ({n} labels collected at initialize). Initialize "
        "on data that has every label, or give them with `labels`."
    )
    E005 = (
        "[E005] Gold labels of doc {doc!r} break the {scheme} tag scheme at token {i} "
        "({text!r}): {prev!r} -> {label!r}. Fix the data, or set `constraints` of "
        "component '{name}' to the scheme the data uses, or to 'none'."
    )
    E006 = (
        "[E006] Component '{name}': `label_map` maps {key!r} -> {value!r} but also maps "
        "{value!r} -> {again!r}. A label the map produces must map to itself."
    )
    E007 = (
        "[E007] Component '{name}': {label!r} is not a Universal POS tag, so it cannot be "
        "written to Token.pos_. Use target 'tag' for other tag sets."
    )
    E008 = (
        "[E008] Component '{name}': unknown `constraints` {value!r}. Expected 'auto', "
        "'none', 'IOB1', 'IOB2', 'BIOES' or 'BILUO'."
    )
    E009 = (
        "[E009] Component '{name}' has spans in doc.spans[{key!r}] that overlap in doc "
        "{doc!r}; a sequence tagger needs non-overlapping spans. ({error})"
    )
    E010 = "[E010] Component '{name}' cannot add label {label!r} after initialize."
    E011 = (
        "[E011] Component '{name}' found no {target!r} labels in its {n} training "
        "examples (their gold is on: {layers}). Expected gold on the head's `target`: "
        "set it to a layer the corpus carries (in the configs: `xfer.source_target` or "
        "`xfer.target_target`), or, if a labelling rate kept few examples, raise `--rate`."
    )
    E012 = (
        "[E012] Components '{name}' and '{other}' both write {target!r}, so the later one "
        "overwrites the earlier one's predictions. Set `primary = false` on all but one "
        "of them (in [components.NAME] of the config): a head that is not primary writes "
        "its predictions to its own key ({own})."
    )
    E013 = (
        "[E013] None of the weighted keys of [training.score_weights] ({weighted}) is a "
        "score this pipeline reports, so every evaluation would score 0 and model-best "
        "would be the last checkpoint. The pipeline's heads report: {reported}. Give one "
        "of them a weight, e.g. `{example} = 1.0` under [training.score_weights]."
    )
    E014 = (
        "[E014] Cannot load component '{name}': {file} is missing. Save the pipeline "
        "again with `nlp.to_disk`, or restore the file from the saved pipeline."
    )
    E015 = (
        "[E015] Cannot load component '{name}': {file} is corrupt or does not belong to "
        "this component ({error}). Save the pipeline again with `nlp.to_disk`, or "
        "restore the file from the saved pipeline."
    )
    E016 = (
        "[E016] No label sequence that the tag scheme allows agrees with the observed "
        "gold tags of sentence(s) {sentences} (positions in the CRF loss's batch); e.g. `B-PER ? I-LOC` under BIOES has no allowed tag for `?`. Fix the "
        "gold tags, or set `constraints` to 'none'."
    )
    E017 = (
        "[E017] Cannot size the CRF input: layer {layer!r} has no `nO` set and the "
        "examples given at initialize have no non-empty doc to measure its output on. "
        "Set the layer's width, or initialize on examples with tokens."
    )
    E018 = (
        "[E018] Component '{name}' (xfer_transformer) needs spacy-transformers, which is "
        "not installed. Install the extra: pip install \"spacy-xfer[transformers]\"."
    )
    E019 = "[E019] Invalid input to the linear-chain CRF: {problem}."
    E020 = (
        "[E020] Component '{name}' got a NaN or infinite loss: the emission scores it was "
        "given hold NaN or infinite values, e.g. after a diverging update (lower the "
        "learning rate, or keep gradient clipping on)."
    )
    E030 = (
        "[E030] {arch}: `{arg}` = {value} is the bidirectional GRU's output width, the "
        "forward and backward states side by side, so it must be an even number > 0."
    )
    E035 = (
        "[E035] This pipeline is quantized for inference (int8 {module}) and cannot be "
        "trained. Train or fine-tune the float32 pipeline: load it without the "
        "`spacy_xfer.quantize` callback in [nlp.after_pipeline_creation] of its config "
        "(in its place the callback under its `first`, if it has one)."
    )
    E036 = (
        "[E036] Cannot quantize a module on {device}: int8 dynamic quantization runs on "
        "CPU only. Load the pipeline on CPU (no --gpu-id / require_gpu) to quantize it."
    )
    E037 = (
        "[E037] spacy_xfer.quantize found no spacy-xfer torch module in the pipeline's "
        "components ({names}); it quantizes the encoders and CRFs of xfer_tagger and "
        "xfer_encoder components."
    )
    E038 = "[E038] Invalid {setting} {value!r}: expected {expected}."
    E039 = "[E039] Unknown {kind} {value!r}: expected one of {choices}."
    E040 = "[E040] Task '{name}': {problem}."
    E041 = "[E041] Task '{name}': {problem}; expected a {file_type} file or a folder of them."
    E042 = (
        "[E042] Example without a task ({key!r} missing from reference.user_data): "
        "spacy_xfer.batch_by_task.v1 expects the stream of spacy_xfer.TaskSampler.v1."
    )
    E043 = (
        "[E043] No gazetteer lists at {path}: expected a folder of SENNA-style lists "
        "named {glob}, a list file, or list files."
    )
    E044 = (
        "[E044] Gazetteer features: the model's nO is {nO} but its gazetteer gives "
        "{width} columns; initialize the model again after changing the gazetteer."
    )
    E045 = "[E045] Chunks overlap at tokens {start}-{end}: {chunks}; expected non-overlapping chunks."
    E046 = (
        "[E046] Label {label!r} does not belong to the {scheme} scheme: expected 'O' or "
        "one of {prefixes} followed by '-TYPE'."
    )
    E047 = "[E047] Cannot choose an xfer_tagger component of the pipeline ({pipes}): {problem}."
    E048 = "{source}: [E048] {problem}; expected {expected}"
    E049 = "[E049] Input {path} {problem}: expected a file, or a folder of files."
    E050 = (
        "[E050] {folder} holds shards annotated with other settings ({key}: {old!r}, now "
        "{new!r}); remove it or choose another OUTPUT."
    )
    E051 = "[E051] {feature} needs the {extra} extra: pip install 'spacy-xfer[{extra}]'."
    E052 = "[E052] GPU {gpu_id} was requested, but {problems}. Or use the CPU: --gpu-id -1."
    E053 = "{path}:{line}: [E053] {problem}; expected {expected}"
    E054 = "{path}: [E054] {problem}; expected {expected}"
    E055 = "{where}: [E055] benchmark {name!r}: {problem}"
    E056 = "{path}:{line}: [E056] {problem}; expected a JSON benchmarks file"
    E057 = "{path}: [E057] found a JSON {found}; expected a JSON object of benchmark name -> settings"
    E058 = (
        "[E058] Unknown benchmark {name!r}: {path} not found (run `python -m spacy_xfer prepare "
        "{name} ...` with its definition first) and not built in ({built_in})."
    )
    E059 = (
        "{path}: [E059] expected the definition of benchmark {name!r} (the folder's name), "
        "found {found}: prepare NAME writes to CORPUS_DIR/NAME."
    )
    E060 = (
        "[E060] Benchmark {name!r} reads its {part} file from a corpora folder ({paths}): "
        "pass CORPORA_DIR."
    )
    E061 = "[E061] Benchmark {name!r}: {part} file not found (looked for {paths}){expected}."
    E062 = "[E062] --vectors {location}: {problem}; expected {expected}."
    E063 = (
        "[E063] Benchmark {name!r}: target {target!r}, but its {format} train part ({path}) "
        "has no {layer} labels (it has: {found}): expected {targets}."
    )
    E064 = "[E064] This config needs a {role} corpus: pass --{role}."
    E065 = (
        "[E065] {path} not found: expected the output of `python -m spacy_xfer prepare "
        "{name} CORPORA_DIR {folder}` (or --corpus-dir)."
    )
    E066 = (
        "[E066] Head {name!r} ({task}) predicts {target!r}, but {path} is scored on "
        "{expected!r}: expected the benchmark the head was trained on."
    )
    E067 = "[E067] No spaCy built-in baseline for target {target!r}: expected 'tag', 'ents' or 'spans:KEY'."
    E068 = (
        "[E068] Doc {i} ({text!r}...): spans in doc.spans[{key!r}] overlap, so they cannot "
        "be entities for spaCy's ner: {error}"
    )
    E069 = "{path}: [E069] {problem}; expected {expected}."
    E070 = "[E070] Exit code {code}: {command}\n(log {log}, last lines:)\n{tail}"
    E071 = "[E071] No training log at {log}: expected spaCy's ConsoleLogger.v2 output_file."
    E072 = "{path}: [E072] not a grid results file, missing {missing}; expected the keys the grid writes ({keys})."
    E073 = "{path}:{line}: [E073] {problem}; expected {expected}."
    E074 = "[E074] Ablation variant {variant!r} needs --vectors (e.g. the en_core_web_md folder)."
    E075 = "[E075] Ablation run {name} failed (exit code {code}): see {log}."
    E076 = (
        "{path}: [E076] run with other settings ({changed}): move the benchmark's results "
        "away (or use another --results folder) to run it again."
    )
    E077 = (
        "{path}: [E077] has no picks for {strategy!r} (it was run with {strategies}): delete "
        "it to run it again."
    )
    E078 = "{where}: [E078] only {available} non-empty sentences to draw {n} from."
    E079 = "{where}: [E079] {strategy} could choose only {chosen} of the {n} sentences to label next."
    E080 = (
        "[E080] max_steps {max_steps} is not a multiple of eval_frequency {eval_frequency}: "
        "the steps after the last evaluation would be trained but never chosen."
    )
    E081 = "[E081] {path} is a folder: expected {expected}."
    E082 = (
        "{path}: [E082] not a label mapping table ({problem}); expected a JSON object "
        "with 'renames' (an object of labels to labels, each a non-empty string "
        "without whitespace), 'alternatives' (a string or null) and 'own_labels' (a "
        "list of labels)."
    )
    E083 = (
        "[E083] Benchmark {name!r}: its {part} part would hold no sentences ({source}); "
        "expected at least one sentence in each of train, dev and test. Nothing was written."
    )
    E084 = "{path}: [E084] {key!r} appears twice in one JSON object; expected each name once."
    E085 = (
        "[E085] {arch}: its `lexical` model {name!r} has no output width (nO) when built; "
        "expected a model that knows its width, e.g. spacy_xfer.LexicalEmbed.v1."
    )
    E086 = (
        "{path}: [E086] the config uses spacy-transformers ({functions}), which is not "
        "installed. Install the extra: pip install \"spacy-xfer[transformers]\"."
    )
    E087 = "[E087] {path} is a folder; expected the path of the config file to write, e.g. {example}."
    E088 = (
        "{path}: [E088] ablation variant {name!r} extends {parent!r}, {problem}; expected "
        "the name of another variant of the file, without a cycle."
    )
    E089 = (
        "[E089] No config for --arch {arch} with --encoder {encoder}: T-C shares only the "
        "char layers, which a transformer encoder does not have; expected one of {choices}."
    )
    E090 = (
        "[E090] Component '{name}' reads its token vectors from {upstream}, which has "
        "not run on {n} of the {total} docs given (e.g. doc {index}, {text!r}); expected docs "
        "that went through the pipeline up to it, e.g. `nlp.pipe(docs, disable=[...])`, "
        "as for any spaCy component with a listener."
    )
    E091 = (
        "[E091] This config has no {role} task (no paths.{role}_train), so --{role} {name} "
        "would be ignored: leave it out, or train a config with a {role} (t_a, t_b, t_c)."
    )
    E092 = "[E092] Cannot write {path}: {parent} is a file, where a folder is needed."
    E093 = (
        "{path}:{line}: [E093] Not a spaCy config: {problem}; expected a training config "
        "of [sections] and `key = value` lines, e.g. configs/t_b.cfg or one written by "
        "`python -m spacy_xfer init-config`."
    )
    E094 = (
        "[E094] {path} has no {missing}: `train` fills in a spacy-xfer config (configs/"
        "single.cfg, t_a.cfg, t_b.cfg, t_c.cfg, their *_trf.cfg, or `python -m spacy_xfer "
        "init-config`); for any other spaCy config use `python -m spacy_xfer spacy-train`."
    )
    E095 = (
        "[E095] {path}: its {part} part would hold no sentences (ratios {ratios}); "
        "expected at least one sentence in each part with a ratio above 0. Nothing was "
        "written."
    )

    E096 = (
        "[E096] {setting} = 0 leaves the task '{task}' out of {reader}, {why}. A labelling "
        "rate of 0 is for a dev reader's other tasks, e.g. the source's dev set in the "
        "T-B and T-C configs ([xfer] source_dev_rate = 0), which are evaluated on the "
        "target's dev set alone."
    )
    E097 = (
        "[E097] Cannot use the given value of parameter '{name}': its shape is {shape}, "
        "expected {expected} (the parameter's). Were the parameters (e.g. an optimizer's "
        "averages) kept for a model of other sizes, before the model was resized or "
        "initialized again?"
    )
    E098 = (
        "[E098] Component '{name}': `label_map` {problem}; expected an object of label -> "
        "mapped label, or a list of [label, mapped label] pairs with each label once."
    )
    E099 = (
        "[E099] Component '{name}' has not learnt the labels of {n} of the {total} "
        "labelled tokens of {path} (their labels: {unknown}). It learnt {labels}, and most "
        "of those are not in the file: expected a test file of the benchmark it was "
        "trained on, with its label set."
    )
    E100 = (
        "[E100] Component '{component}' listens to '{upstream}' with a "
        "`spacy.Tok2VecListener.v1` of width {width}, but '{upstream}' gives vectors of "
        "width {nO} (its model's nO): expected the listener's `width` to be the encoder's "
        "output width, e.g. `width = ${{components.{upstream}.model.output_width}}`."
    )
    E101 = (
        "[E101] {layer}: the output was predicted (`is_train=False`, by the modules' flat "
        "path) and has no gradient: call the model with `is_train=True` (or "
        "`begin_update`) to backpropagate."
    )
    E102 = (
        "[E102] {path} is a training output folder, not a pipeline: expected the pipeline "
        "it saved, e.g. {path}/model-best (the best dev checkpoint) or {path}/model-last."
    )
    E103 = (
        "{path}: [E103] the ablation's `tables` must list every pair of `pairs` once: "
        "{problem}."
    )
    E104 = (
        "[E104] {folder} {problem}: expected a new or empty folder, or the folder of an "
        "earlier `annotate` run (with its {manifest}); annotate does not delete or "
        "overwrite files it did not write."
    )
    E105 = (
        "[E105] Doc {doc} of a batch has another Vocab than doc 0: the docs a "
        "component featurizes in one batch must share one, whose strings give the "
        "words' texts. Make them with the pipeline's: `nlp.make_doc(text)` or "
        "`Doc(nlp.vocab, words=...)`."
    )
    E106 = (
        "[E106] Component '{name}': its labels ({labels}) under the {scheme} "
        "constraints allow no tag sequence for a doc of {lengths} token(s) (e.g. one "
        "token needs an O or a single-token tag such as U-X or S-X), so the CRF could "
        "only write tags the scheme forbids. Expected a label set that can tag any "
        "doc: add the missing tags (`initialize`'s `labels`), or set `constraints` "
        "to \"none\"."
    )
    E107 = (
        "[E107] A T-A config trains one head on both tasks, so both benchmarks must "
        "annotate the same target, but the source {source!r} annotates {source_target!r} "
        "and the target {target!r} annotates {target_target!r} (its source steps would "
        "teach the head nothing). Expected a source of {target_target!r}, or a T-B "
        "config (t_b.cfg: a head per task)."
    )
    E108 = (
        "[E108] {path} cannot be read as a DocBin ({problem}). Expected a .spacy file as "
        "`prepare`, `convert` or `split` write it: write it again."
    )
    E111 = (
        "[E111] {who} gets vectors of width {width} from {source}, but its emission "
        "layer takes vectors of width {nI} (its nI, fixed when it was initialized or "
        "loaded): the head was trained on an encoder of another width, e.g. sourced "
        "from a pipeline whose transformer has another hidden size. Use a head trained "
        "on this encoder, or initialize the head again to train it on this one."
    )
    E110 = (
        "{path}: [E110] doc {doc} cannot be written as columns that read back as it is: "
        "{problem}; expected {expected}"
    )
    E112 = (
        "[E112] The fused GRU path (spacy_xfer.models.fused_gru) needs numba, which is not "
        "installed. Install the package's `fast` extra (pip install 'spacy-xfer[fast]'), "
        "or predict with nn.GRU (forced_gru_path(NN_GRU)). With numba installed, check that "
        "NUMBA_DISABLE_JIT is not set."
    )
    E113 = (
        "[E113] The fused GRU loop got packed data it cannot run on: {n} rows with batch "
        "sizes {sizes}, and arrays of shapes {shapes} (input projections of both directions, "
        "recurrent weights, recurrent biases). Expected positive, non-increasing batch sizes "
        "that sum to the rows (a PackedSequence's layout), input projections (rows, 3 x "
        "hidden), weights (3 x hidden, hidden) and biases (3 x hidden,)."
    )
    E114 = "{where}[E114] Benchmark {name!r} merges {members}: {problem}; expected {expected}."
    E115 = (
        "[E115] Benchmark {name!r} is defined in {first} and again in {second}; expected "
        "each name in one of the --benchmarks files (rename one of them)."
    )
    E116 = (
        "[E116] Gold labels of doc {doc!r} leave no label the {scheme} tag scheme allows "
        "for the {n} unknown token(s) between {after} and {before}. Fix the data, or set "
        "`constraints` of component '{name}' to the scheme the data uses, or to 'none'."
    )
    E117 = "[E117] --set {item!r}: {problem}."
    E118 = "[E118] {path} has gold for these targets: {found}; expected {wanted}."
    E119 = (
        "[E119] Pipeline {model} predicts no {target!r} annotation on any doc (its components: "
        "{pipes}); expected a pipeline that predicts the target it is compared on (spaCy's "
        "`ner` writes `ents`, its `tagger` `tag`)."
    )
    E120 = "{path}: [E120] not a `compare` results file, {problem}; expected a JSON object with {keys}."
    E121 = (
        "[E121] The two pipelines read the gold labels as different tasks ({maps}): a "
        "head's `label_map` merges them, so the two would be scored on different tasks; "
        "expected pipelines that tell the same gold labels apart."
    )
    E122 = "[E122] No enabled component {names} in the pipeline: expected names among its components ({pipes})."
    E123 = (
        "[E123] Component '{name}' cannot be disabled alone: {listening} listen to it and "
        "would tag from nothing; expected their names with it, or another component."
    )


class Warnings:
    W001 = (
        "[W001] Component '{name}' learns the tasks {tasks} with one CRF (T-A), but task "
        "{task!r} shares {shared} of its {n} labels with the others (not: {sample}): "
        "its predictions may use the other tasks' labels. Map the labels one to one with "
        "`label_map` (the `t_a_label_maps` of a benchmark), or share less (T-B, T-C)."
    )
    W002 = (
        "[W002] Component '{name}': `label_map` has labels with '$$' ({sample}). spaCy's "
        "config library writes '$' in a value as '$$' and does not read it back when a "
        "config is loaded without interpolation (confection issue #48), e.g. a trained "
        "pipeline's config.cfg trained again: if the labels have one '$' (PTB's $, PRP$, "
        "WP$), train from the config with `python -m spacy_xfer train`, which writes the "
        "map anew, or load the config with `spacy.util.load_config(path, interpolate=True)`."
    )
    W003 = (
        "[W003] numba could not read its disk cache of the compiled loop '{name}' in "
        "{path} ({error}); compiling it anew and rewriting that cache where the folder "
        "lets it. If this repeats, delete the folder's files or point NUMBA_CACHE_DIR at "
        "a writable folder."
    )
    W004 = (
        "[W004] {path} has {n} doc(s) with gold for the target: the bootstrap draws whole "
        "docs, so with fewer than {least} its interval says little (with one, nothing). "
        "Give a file of one doc per sentence, e.g. `spacy convert -n 1`."
    )
