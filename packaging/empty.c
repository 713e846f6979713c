/* libveritee.so is linked from the layers' archives; CMake wants one source of its own. */
typedef int vt_empty_translation_unit;
