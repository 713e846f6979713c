export function renderAnalysis() {}
