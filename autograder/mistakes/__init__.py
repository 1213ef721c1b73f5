"""Known wrong answers, one module per lesson, so failing tests can name the student's mistake."""
