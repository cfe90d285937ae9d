# The exam's pinned imports and the versions TF 2.9's environment must report for them.
EXAM_IMPORT_VERSIONS = {
    "tensorflow": "2.9.0",
    "tensorflow_datasets": "4.6.0",
    "numpy": "1.22.4",
    "PIL": "9.1.1",
    "scipy": "1.7.3",
    "pandas": "1.4.2",
}
