// Preloaded into AddressSanitizer runs (scripts/test.sh --sanitize): dlclose does nothing,
// so the plug-ins Open MPI unloads at MPI_Finalize stay mapped, and LeakSanitizer can name
// the library of what they keep (scripts/sanitizers/lsan.supp) instead of "<unknown module>".
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
