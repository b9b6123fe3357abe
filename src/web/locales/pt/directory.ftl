# As páginas do diretório e as contas do pessoal da Secretaria, em português.

## Estados membros
directory-title = Diretório
directory-intro = Os Estados membros da OEA e seus pontos de contato no âmbito da MFC n.º 2. Os horários são exibidos aos pontos de contato de cada Estado no seu fuso horário.
directory-add-poc = Adicionar um ponto de contato
directory-col-state = Estado membro
directory-col-participating = Participa da MFC n.º 2
directory-col-time-zone = Fuso horário
directory-col-active-pocs = Pontos de contato ativos
directory-yes = Sim
directory-no = Não
directory-no-policy-poc = Nenhum ponto de contato de nível político ativo
directory-back = Voltar ao diretório
directory-state-pocs = Pontos de contato
directory-show-all = Mostrar também os pontos de contato desativados
directory-active-only = Mostrar somente os pontos de contato ativos
directory-no-pocs = Este Estado não tem pontos de contato no diretório.
directory-next-page = Mais pontos de contato
directory-secretariat-only = Somente a Secretaria do CICTE altera esta parte do diretório.
directory-done-added = O ponto de contato foi adicionado.
directory-done-saved = As alterações foram salvas.
directory-done-confirmed = Os dados foram confirmados como atuais.
directory-done-deactivated = O ponto de contato foi desativado.
directory-done-removed = A conta do pessoal foi removida; suas sessões foram encerradas.
directory-done-state-saved = As configurações do Estado foram salvas.
directory-done-staff-added = A conta do pessoal foi adicionada. O titular entra com um link enviado para esse endereço.
directory-invalid-member_state = Escolha um Estado membro da OEA.
directory-invalid-name = Informe um nome (no máximo 200 caracteres, em uma só linha).
directory-invalid-affiliation = Informe a instituição (no máximo 300 caracteres, em uma só linha).
directory-invalid-role = Escolha uma função.
directory-invalid-email = Informe um endereço de e-mail, por exemplo nome@ministerio.gov.br.
directory-invalid-phone = Informe um número de telefone como +55 61 2030 0000: dígitos, espaços e + - . ( ), de 5 a 20 dígitos.
directory-invalid-languages = Informe códigos de idioma de duas letras separados por vírgulas, por exemplo pt, en (cada um uma só vez, no máximo 10).
directory-invalid-time_zone = Informe um fuso horário IANA exatamente como escrito na lista, por exemplo America/Sao_Paulo.
directory-invalid-participating = Marque a caixa ou deixe-a vazia.

## Configurações de um Estado (Secretaria)
state-form-title = Participação e fuso horário
state-form-participating = Este Estado participa da MFC n.º 2
state-form-participating-hint = Um Estado que não participa não pode enviar nem receber consultas.
state-form-time_zone = Fuso horário
state-form-time_zone-hint = O nome IANA do fuso horário da capital, por exemplo America/Sao_Paulo.
state-form-submit = Salvar

## Pontos de contato
poc-col-name = Nome e instituição
poc-col-role = Função
poc-col-contact = Contato
poc-col-languages = Idiomas
poc-col-confirmed = Última confirmação
poc-col-state = Estado membro
poc-deactivated = Desativado
poc-deactivated-at = Desativado em
poc-stale = Não confirmado há um ano
poc-back = Voltar a { $state }
poc-member_state = Estado membro
poc-name = Nome
poc-affiliation = Instituição
poc-role = Função
poc-email = Endereço de e-mail
poc-email-hint = Os links de acesso e as consultas são enviados para este endereço.
poc-phone = Telefone
poc-phone-hint = Opcional. No formato internacional, por exemplo +55 61 2030 0000.
poc-languages = Idiomas
poc-languages-hint = Códigos de duas letras, em ordem de preferência, separados por vírgulas: pt, en. O cbm2 escreve no primeiro dos idiomas inglês, espanhol, francês e português que constar da lista.
poc-new-title = Adicionar um ponto de contato
poc-new-intro = Adicione uma pessoa designada por um Estado membro. Ela poderá entrar imediatamente com este endereço de e-mail.
poc-new-submit = Adicionar o ponto de contato
poc-edit-title = Alterar os dados
poc-edit-own-note = O seu Estado e a sua função são alterados pela Secretaria do CICTE.
poc-edit-submit = Salvar as alterações
poc-confirm-title = Confirmar os dados
poc-confirm-own = Uma vez por ano, confirme que os seus dados acima continuam corretos.
poc-confirm-other = Registrar que estes dados foram verificados com o ponto de contato.
poc-confirm-submit = Os dados estão atualizados
poc-deactivate-title = Desativar
poc-deactivate-text = Um ponto de contato desativado não recebe mais nada e não pode mais entrar. O registro e o seu histórico são mantidos.
poc-deactivate-submit = Desativar o ponto de contato

## Contas do pessoal
staff-title = Pessoal da Secretaria
staff-intro = As pessoas da Secretaria do CICTE autorizadas a entrar. Elas veem o diretório e quando cada etapa das consultas acontece, nunca o que os Estados escrevem.
staff-col-name = Nome
staff-col-email = Endereço de e-mail
staff-col-added = Adicionada em
staff-col-actions = Ações
staff-remove = Remover { $name }
staff-add-title = Adicionar uma conta do pessoal
staff-email = Endereço de e-mail
staff-name = Nome
staff-add-submit = Adicionar a conta
staff-duplicate-email = Já existe uma conta do pessoal ativa com este endereço de e-mail.
